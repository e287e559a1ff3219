import ZooKeeperProtocol
import ZooKeeperSession

/// A watch callback: hears one node event (or, on a terminal session change, a `.none` event
/// with the session's state).
public typealias WatchCallback = @Sendable (WatchEvent) -> Void

extension ZooKeeperClient {
    /// Creates a node; returns its path (with the sequence suffix for sequential modes) and Stat.
    /// `ttl` is required by the TTL modes (the server needs `extendedTypesEnabled`).
    @discardableResult
    public func create(_ path: String, data: [UInt8] = [], acl: [ACL] = Ids.openACLUnsafe, mode: CreateMode = .persistent, ttl: Duration? = nil) async throws -> (path: String, stat: Stat?) {
        let result = try await perform(.create(path: path, data: data, acl: acl, mode: mode, ttl: ttl?.milliseconds))
        guard case let .created(created, stat) = result else { throw unexpected(result) }
        return (created, stat)
    }

    /// Deletes a node; `version` -1 matches any.
    public func delete(_ path: String, version: Int32 = -1) async throws {
        _ = try await perform(.delete(path: path, version: version))
    }

    /// The node's Stat, or nil when it does not exist. With `watch`, hears its creation,
    /// deletion or data change (once).
    public func exists(_ path: String, watch: WatchCallback? = nil) async throws -> Stat? {
        let result = try await perform(.exists(path: path, watch: watch != nil), watch: watch, persistent: false)
        guard case let .stat(stat) = result else { throw unexpected(result) }
        return stat
    }

    /// The node's data and Stat. With `watch`, hears its next data change or deletion.
    public func getData(_ path: String, watch: WatchCallback? = nil) async throws -> (data: [UInt8], stat: Stat) {
        let result = try await perform(.getData(path: path, watch: watch != nil), watch: watch, persistent: false)
        guard case let .data(data, stat) = result else { throw unexpected(result) }
        return (data, stat)
    }

    /// Replaces the node's data if its version matches (-1: any); returns the new Stat.
    @discardableResult
    public func setData(_ path: String, data: [UInt8], version: Int32 = -1) async throws -> Stat {
        try await statResult(.setData(path: path, data: data, version: version))
    }

    /// The node's ACL and Stat (the server asks for READ or ADMIN permission).
    public func getACL(_ path: String) async throws -> (acl: [ACL], stat: Stat) {
        let result = try await perform(.getACL(path: path))
        guard case let .acl(acl, stat) = result else { throw unexpected(result) }
        return (acl, stat)
    }

    /// Replaces the node's ACL if its ACL version (aversion) matches (-1: any).
    @discardableResult
    public func setACL(_ path: String, acl: [ACL], version: Int32 = -1) async throws -> Stat {
        try await statResult(.setACL(path: path, acl: acl, version: version))
    }

    /// The node's children. With `watch`, hears the next change of the list or the deletion.
    public func getChildren(_ path: String, watch: WatchCallback? = nil) async throws -> [String] {
        try await children(path, watch: watch, includeStat: false).children
    }

    /// The node's children and its Stat.
    public func getChildrenWithStat(_ path: String, watch: WatchCallback? = nil) async throws -> (children: [String], stat: Stat) {
        let (children, stat) = try await children(path, watch: watch, includeStat: true)
        guard let stat else { throw ZooKeeperError(.marshallingError, path: path, message: "reply without Stat") }
        return (children, stat)
    }

    /// The number of all descendants of the node.
    public func getAllChildrenNumber(_ path: String) async throws -> Int {
        let result = try await perform(.getAllChildrenNumber(path: path))
        guard case let .count(count) = result else { throw unexpected(result) }
        return Int(count)
    }

    /// This session's ephemeral nodes whose path starts with `prefix`.
    public func getEphemerals(prefix: String = "/") async throws -> [String] {
        let result = try await perform(.getEphemerals(prefix: prefix))
        guard case let .paths(paths) = result else { throw unexpected(result) }
        return paths
    }

    /// Waits until the server this client uses has caught up with the leader on `path`.
    public func sync(_ path: String) async throws {
        _ = try await perform(.sync(path: path))
    }

    /// Runs create/delete/setData/check operations atomically. On failure the error carries
    /// the failing code and every operation's result.
    @discardableResult
    public func multi(_ operations: [MultiOperation]) async throws -> [MultiResult] {
        let result = try await perform(.multi(operations))
        guard case let .multi(results) = result else { throw unexpected(result) }
        return results
    }

    /// Runs getData/getChildren operations in one round trip; each answers on its own.
    public func multiRead(_ operations: [MultiOperation]) async throws -> [MultiResult] {
        let result = try await perform(.multiRead(operations))
        guard case let .multi(results) = result else { throw unexpected(result) }
        return results
    }

    /// Leaves a persistent (or persistent recursive) watch that keeps calling `callback` until
    /// removed with `removeWatches(path, type: .any)` or the session ends.
    public func addWatch(_ path: String, mode: AddWatchMode, callback: @escaping WatchCallback) async throws {
        _ = try await perform(.addWatch(path: path, mode: mode), watch: callback, persistent: true)
    }

    /// A persistent watch as an async sequence of events; it ends when the watch is removed or
    /// the session ends. A consumer that stops iterating (or drops the sequence) removes its
    /// watch: from this client at once, and from the server when nothing else of this session
    /// watches `path`.
    public func watchEvents(_ path: String, mode: AddWatchMode) async throws -> AsyncStream<WatchEvent> {
        let (stream, continuation) = AsyncStream<WatchEvent>.makeStream()
        let ticket = RequestTicket()
        let driver = self.driver
        continuation.onTermination = { termination in
            // Finished by the watch's own end (removed, session over): nothing is left to remove.
            guard case .cancelled = termination else { return }
            driver.removeWatcher(of: ticket, path: path)
        }
        do {
            _ = try await perform(.addWatch(path: path, mode: mode), watch: { event in
                if event.type == .none && [.expired, .authFailed, .closed].contains(event.state) || event.type == .persistentWatchRemoved {
                    continuation.finish()
                } else {
                    continuation.yield(event)
                }
            }, persistent: true, ticket: ticket)
        } catch {
            continuation.finish()  // no watch was set
            throw error
        }
        return stream
    }

    /// Removes the watches of `type` on `path`: on the server, or only locally when `local`
    /// (so it works while disconnected). Removed watchers hear a *WatchRemoved event.
    public func removeWatches(_ path: String, type: WatcherType = .any, local: Bool = false) async throws {
        _ = try await perform(.removeWatches(path: path, type: type, local: local))
    }

    /// Whether the server holds watches of `type` for this session on `path` (noWatcher if not).
    public func checkWatches(_ path: String, type: WatcherType = .any) async throws {
        _ = try await perform(.checkWatches(path: path, type: type))
    }

    /// The identities this session is authenticated as.
    public func whoAmI() async throws -> [ClientInfo] {
        let result = try await perform(.whoAmI)
        guard case let .identities(identities) = result else { throw unexpected(result) }
        return identities
    }

    /// The ensemble's configuration (the data of /zookeeper/config).
    public func getConfig(watch: WatchCallback? = nil) async throws -> (data: [UInt8], stat: Stat) {
        let result = try await perform(.getConfig(watch: watch != nil), watch: watch, persistent: false)
        guard case let .data(data, stat) = result else { throw unexpected(result) }
        return (data, stat)
    }

    /// Changes the ensemble's membership (needs reconfigEnabled on the servers).
    public func reconfig(joining: String = "", leaving: String = "", newMembers: String = "", fromConfig: Int64 = -1) async throws -> (data: [UInt8], stat: Stat) {
        let result = try await perform(.reconfig(ReconfigRequest(joiningServers: joining, leavingServers: leaving, newMembers: newMembers, curConfigId: fromConfig)))
        guard case let .data(data, stat) = result else { throw unexpected(result) }
        return (data, stat)
    }

    /// Authenticates the session (for example `digest`, `user:password`); it is sent again
    /// after every reconnect. A refused auth ends the session (authFailed).
    public func addAuth(scheme: String, credentials: [UInt8]) async throws {
        _ = try await perform(.addAuth(scheme: scheme, credentials: credentials))
    }

    private func children(_ path: String, watch: WatchCallback?, includeStat: Bool) async throws -> (children: [String], stat: Stat?) {
        let result = try await perform(.getChildren(path: path, watch: watch != nil, includeStat: includeStat), watch: watch, persistent: false)
        guard case let .children(children, stat) = result else { throw unexpected(result) }
        return (children, stat)
    }

    private func statResult(_ operation: Operation) async throws -> Stat {
        let result = try await perform(operation)
        guard case let .stat(stat?) = result else { throw unexpected(result) }
        return stat
    }

    private func unexpected(_ result: OperationResult) -> ZooKeeperError {
        ZooKeeperError(.marshallingError, message: "unexpected result \(result)")
    }
}
