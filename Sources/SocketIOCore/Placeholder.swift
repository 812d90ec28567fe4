// SocketIOCore
