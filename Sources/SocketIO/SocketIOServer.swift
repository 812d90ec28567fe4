public import EngineIO
public import HTTP
import IOCore
public import IOPosix
public import JSON

/// A Socket.IO v5 server on Engine.IO v4: namespaces, rooms, events and acks.
///
/// Serve it from an ``HTTPResponder``: requests for which ``matches(_:)`` holds go to ``handle(_:writer:)``.
public final class SocketIOServer: Sendable {
    /// The configuration.
    public var configuration: SocketIOConfiguration { self.core.configuration }
    /// The Engine.IO layer underneath.
    public let engine: EngineIOServer
    let core: SocketIOServerCore

    /// Makes an adapter for each namespace; the default keeps everything in this process.
    public typealias AdapterFactory = @Sendable (EventLoopGroup, String) -> any SocketIOAdapter

    /// A server whose sessions live on `group`'s loops.
    public init(
        group: EventLoopGroup, configuration: SocketIOConfiguration = SocketIOConfiguration(),
        adapter: @escaping AdapterFactory = { group, _ in InMemoryAdapter(group: group) }
    ) {
        let core = SocketIOServerCore(group: group, configuration: configuration, adapterFactory: adapter)
        self.core = core
        self.engine = EngineIOServer(configuration: configuration.engine) { session in
            session.delegate = SocketIOClient(session: session, server: core)
        }
    }

    /// The namespace called `name` (created on first use), e.g. `/` or `/admin`.
    public func of(_ name: String) -> SocketIONamespace {
        self.core.staticNamespace(name)
    }

    /// The main namespace, `/`.
    public var main: SocketIONamespace { self.of("/") }

    /// Namespaces created on demand for every name `matcher` accepts. They share the returned parent's
    /// middlewares and handlers as they were when each child was created.
    public func of(matching matcher: @escaping @Sendable (String) -> Bool) -> SocketIOParentNamespace {
        self.core.addParent(matcher)
    }

    /// Whether `request` belongs to this server's path.
    public func matches(_ request: HTTPRequest) -> Bool { self.engine.matches(request) }

    /// Answers a request under this server's path.
    public func handle(_ request: HTTPRequest, writer: HTTPResponseWriter) { self.engine.handle(request, writer: writer) }

    /// Closes every connection's transport so clients reconnect (to another node, when draining).
    public func closeAllConnections() {
        self.engine.closeAllSessions(reason: .serverShuttingDown)
    }
}

/// Namespaces created on demand by a matcher; set up handlers here as on a namespace.
public final class SocketIOParentNamespace: Sendable {
    /// Holds the handlers children copy when they are created.
    let template: SocketIONamespace
    let matcher: @Sendable (String) -> Bool
    private let children = Locked<[SocketIONamespace]>([])

    init(template: SocketIONamespace, matcher: @escaping @Sendable (String) -> Bool) {
        self.template = template
        self.matcher = matcher
    }

    /// Adds a middleware for future children.
    public func use(_ middleware: @escaping SocketIONamespace.Middleware) { self.template.use(middleware) }
    /// Adds a connection handler for future children.
    public func onConnection(_ handler: @escaping @Sendable (SocketIOSocket) -> Void) { self.template.onConnection(handler) }
    /// Adds an event handler for future children.
    public func on(_ event: String, _ handler: @escaping SocketIONamespace.SharedEventHandler) { self.template.on(event, handler) }

    /// The children created so far.
    public var namespaces: [SocketIONamespace] { self.children.withLock { $0 } }

    /// Sends `event` to every socket of every child.
    public func emit(_ event: String, _ arguments: [JSONValue] = []) throws(SocketIOEmitError) {
        for child in self.namespaces { try child.emit(event, arguments) }
    }

    func adopt(_ child: SocketIONamespace) {
        self.children.withLock { $0.append(child) }
    }
}

/// The state every loop's clients share: configuration and the namespace registry.
final class SocketIOServerCore: Sendable {
    let group: EventLoopGroup
    let configuration: SocketIOConfiguration
    let adapterFactory: SocketIOServer.AdapterFactory
    private let registry = Locked(Registry())

    private struct Registry {
        var namespaces: [String: SocketIONamespace] = [:]
        var parents: [SocketIOParentNamespace] = []
    }

    init(group: EventLoopGroup, configuration: SocketIOConfiguration, adapterFactory: @escaping SocketIOServer.AdapterFactory) {
        self.group = group
        self.configuration = configuration
        self.adapterFactory = adapterFactory
    }

    private func makeNamespace(_ name: String, inheriting handlers: SocketIONamespace.Handlers? = nil) -> SocketIONamespace {
        SocketIONamespace(
            name: name, group: self.group, recovery: self.configuration.connectionStateRecovery,
            adapter: self.adapterFactory(self.group, name), inheriting: handlers
        )
    }

    func staticNamespace(_ name: String) -> SocketIONamespace {
        let name = name.hasPrefix("/") ? name : "/" + name
        return self.registry.withLock { registry in
            if let existing = registry.namespaces[name] { return existing }
            let namespace = self.makeNamespace(name)
            registry.namespaces[name] = namespace
            return namespace
        }
    }

    func addParent(_ matcher: @escaping @Sendable (String) -> Bool) -> SocketIOParentNamespace {
        let parent = SocketIOParentNamespace(template: self.makeNamespace("/_parent"), matcher: matcher)
        self.registry.withLock { $0.parents.append(parent) }
        return parent
    }

    /// The namespace a CONNECT names: a static one, or a new child of the first parent that matches.
    func namespace(named name: String) -> SocketIONamespace? {
        let (found, parents) = self.registry.withLock { ($0.namespaces[name], $0.parents) }
        if let found { return found }
        guard let parent = parents.first(where: { $0.matcher(name) }) else { return nil }
        return self.registry.withLock { registry in
            if let raced = registry.namespaces[name] { return raced }
            let child = self.makeNamespace(name, inheriting: parent.template.handlers)
            registry.namespaces[name] = child
            parent.adopt(child)
            return child
        }
    }
}
