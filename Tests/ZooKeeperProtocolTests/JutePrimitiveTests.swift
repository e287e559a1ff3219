import Testing
@testable import ZooKeeperProtocol

@Suite struct JutePrimitiveTests {
    @Test func integersAreBigEndian() throws {
        var w = JuteWriter()
        w.writeInt32(0x0102_0304)
        w.writeInt32(-1)
        w.writeInt64(0x0102_0304_0506_0708)
        w.writeInt64(Int64.min)
        #expect(w.bytes == [1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4, 5, 6, 7, 8, 0x80, 0, 0, 0, 0, 0, 0, 0])
        var r = JuteReader(w.bytes)
        #expect(try r.readInt32() == 0x0102_0304)
        #expect(try r.readInt32() == -1)
        #expect(try r.readInt64() == 0x0102_0304_0506_0708)
        #expect(try r.readInt64() == Int64.min)
        #expect(r.isAtEnd)
    }

    @Test func booleansAreOneByte() throws {
        var w = JuteWriter()
        w.writeBool(true)
        w.writeBool(false)
        #expect(w.bytes == [1, 0])
        var r = JuteReader([1, 0, 7])
        #expect(try r.readBool() == true)
        #expect(try r.readBool() == false)
        #expect(try r.readBool() == true, "any non-zero byte reads as true, as in Java")
    }

    @Test func buffersAndStringsAreLengthPrefixed() throws {
        var w = JuteWriter()
        w.writeBuffer([9, 8])
        w.writeBuffer(nil)
        w.writeString("zk/é")
        #expect(w.bytes == [0, 0, 0, 2, 9, 8, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 5, 0x7A, 0x6B, 0x2F, 0xC3, 0xA9])
        var r = JuteReader(w.bytes)
        #expect(try r.readOptionalBuffer() == [9, 8])
        #expect(try r.readOptionalBuffer() == nil)
        #expect(try r.readString() == "zk/é")
    }

    @Test func nullStringAndVectorReadAsEmpty() throws {
        var r = JuteReader([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(try r.readString() == "")
        #expect(try r.readStrings("v") == [])
    }

    @Test func vectorsAreCountPrefixed() throws {
        var w = JuteWriter()
        w.writeStrings(["a", "bc"])
        #expect(w.bytes == Golden.start.int(2).string("a").string("bc").bytes)
        var r = JuteReader(w.bytes)
        #expect(try r.readStrings("v") == ["a", "bc"])
    }

    @Test func lyingLengthsAreRejectedBeforeAllocating() {
        var r = JuteReader([0x7F, 0xFF, 0xFF, 0xFF, 1, 2])
        #expect(throws: ProtocolError.lengthExceedsInput(field: "buffer", length: Int(Int32.max), remaining: 2)) {
            try r.readBuffer()
        }
        var v = JuteReader([0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
        #expect(throws: ProtocolError.self) { try v.readStrings("children") }
        var n = JuteReader([0xFF, 0xFF, 0xFF, 0xFE])
        #expect(throws: ProtocolError.negativeLength(field: "buffer", value: -2)) { try n.readBuffer() }
    }

    @Test func truncatedIntegerThrows() {
        var r = JuteReader([1, 2, 3])
        #expect(throws: ProtocolError.truncated(field: "int", needed: 4, remaining: 3)) { try r.readInt32() }
    }

    @Test func readerHonoursRange() throws {
        var r = JuteReader([0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3], range: 4..<8)
        #expect(try r.readInt32() == 2)
        #expect(r.isAtEnd)
    }
}
