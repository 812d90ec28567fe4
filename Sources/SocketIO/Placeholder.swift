// SocketIO
