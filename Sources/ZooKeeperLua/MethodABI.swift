#if canImport(Glibc)
import Glibc
#endif

// zkl_method of zookeeper_lua.h: the declared methods (LuaMethodTable.swift), one by one, for
// the C glue to register at luaopen.

/// The names as C strings, made once and kept for the process's life.
/// Never written after it is made (nonisolated(unsafe): raw pointers are not Sendable).
nonisolated(unsafe) private let methodNames: [UnsafeMutablePointer<CChar>?] = LuaMethod.all.map { strdup($0.name) }

@_cdecl("zkl_method")
public func zkl_method(_ index: Int32, _ name: UnsafeMutablePointer<UnsafePointer<CChar>?>,
                       _ flags: UnsafeMutablePointer<Int32>) -> Int32 {
    guard index >= 0, Int(index) < LuaMethod.all.count, let text = methodNames[Int(index)] else { return 0 }
    name.pointee = UnsafePointer(text)
    flags.pointee = LuaMethod.all[Int(index)].flags.rawValue
    return 1
}
