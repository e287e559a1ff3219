/// Builds length-prefixed frames.
public enum FrameEncoder {
    /// The handshake frame: a ConnectRequest with no header.
    public static func connectFrame(_ request: ConnectRequest) -> [UInt8] {
        frame { request.encode(to: &$0) }
    }

    /// A request frame: RequestHeader then body.
    public static func requestFrame(xid: Int32, opCode: OpCode, body: some JuteEncodable) -> [UInt8] {
        frame { writer in
            RequestHeader(xid: xid, opCode: opCode).encode(to: &writer)
            body.encode(to: &writer)
        }
    }

    /// A ping: header only, with the reserved xid.
    public static func pingFrame() -> [UInt8] {
        requestFrame(xid: Xid.ping, opCode: .ping, body: EmptyRecord())
    }

    /// A frame around whatever `body` writes.
    public static func frame(_ body: (inout JuteWriter) -> Void) -> [UInt8] {
        var writer = JuteWriter(reservingCapacity: 64)
        writer.writeInt32(0)
        body(&writer)
        writer.patchInt32(Int32(clamping: writer.bytes.count - 4), at: 0)
        return writer.bytes
    }
}
