// EngineIOCore
