import CDirectSupport
#if canImport(Glibc)
import Glibc
#endif
import ZooKeeperSession

/// The direct transport's connections beside the session's own: read-write probes (is that
/// server read-write? see ReadWriteSearch). Each is driven by a short-lived thread of its own
/// that waits on the socket without the session's lock and takes it to report, so neither a
/// driving caller nor the poller carries a second socket. A probe lives at most the connect
/// timeout: the session closes it then, and the thread ends.
extension DirectSession {
    /// Opens a probe's connection and starts its thread (lock held, as every transport call).
    func openProbe(_ host: HostAddress, id: ConnectionID) {
        var probe = DirectConnection()
        guard probe.open(host, id: id, tls: tls) else { return runtime.connectionFailed(id) }
        probes[id] = probe
        var all = sigset_t(), previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, &previous)  // the host's signals stay on its threads
        var thread = pthread_t()
        let context = Unmanaged.passRetained(ProbeThread(session: self, id: id)).toOpaque()
        if pthread_create(&thread, nil, { context in
            Unmanaged<ProbeThread>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context) == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<ProbeThread>.fromOpaque(context).release()
            probes[id]?.close()
            probes[id] = nil
            runtime.connectionFailed(id)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }

    /// One wait of a probe's thread: false once the probe is gone.
    fileprivate func stepProbe(_ id: ConnectionID) -> Bool {
        guard let (fd, events) = locked({ probes[id].map { ($0.fd, Int16($0.connecting ? POLLOUT : (POLLIN | ($0.hasOutput ? POLLOUT : 0)))) } }),
              fd >= 0 else { return false }
        let revents = Socket.poll(fd, events: events, timeoutMillis: 200)
        return locked {
            guard var probe = probes[id], probe.fd == fd else { return false }
            if revents == 0 { return true }
            let now = monotonicMillis()
            if probe.connecting {
                let outcome = probe.finishConnect()
                probes[id] = outcome == .failed ? nil : probe
                switch outcome {
                case .connected: runtime.connectionEstablished(id, now: now)
                case .retrying: break
                case .failed: runtime.connectionFailed(id, now: now)
                }
                return true
            }
            if revents & Int16(POLLOUT) != 0, !probe.flush() {
                probes[id] = nil
                runtime.connectionClosed(id, now: now)
                return false
            }
            var buffer = [UInt8](repeating: 0, count: 64)
            let received = buffer.withUnsafeMutableBytes { probe.read(into: $0) }
            switch received {
            case let .bytes(n):
                probes[id] = probe
                buffer.withUnsafeBytes { runtime.bytesReceived(UnsafeRawBufferPointer(rebasing: $0[0..<n]), connection: id, now: now) }
            case .drained:
                probes[id] = probe
            case .ended, .refused:
                probe.close()
                probes[id] = nil
                runtime.connectionClosed(id, now: now)
            }
            return probes[id] != nil
        }
    }
}

/// What a probe's thread holds: the session (kept alive while the probe runs) and the probe.
private final class ProbeThread {
    let session: DirectSession
    let id: ConnectionID
    init(session: DirectSession, id: ConnectionID) {
        self.session = session
        self.id = id
    }
    func run() {
        while session.stepProbe(id) {}
    }
}
