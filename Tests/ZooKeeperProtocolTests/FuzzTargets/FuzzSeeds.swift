import ZooKeeperProtocol

/// Valid encodings to start from, so that mutations reach deep into the decoders (a random byte
/// string rarely gets past a record's first length field).
public enum FuzzSeeds {
    public static let stat = Stat(czxid: 1, mzxid: 2, ctime: 3, mtime: 4, version: 5, cversion: 6, aversion: 7, ephemeralOwner: 8, dataLength: 9, numChildren: 10, pzxid: 11)
    public static let acl = [ACL(permissions: .all, id: Ids.anyone), ACL(permissions: .read, id: Ids.digest(user: "u", password: "p"))]

    /// One encoding of each kind of record a client meets, and a reply with its body.
    public static let records: [[UInt8]] = {
        let encodings: [any JuteEncodable] = [
            ConnectRequest(timeOut: 30000, passwd: [UInt8](repeating: 7, count: 16)),
            ConnectResponse(timeOut: 30000, sessionId: 99, passwd: [UInt8](repeating: 7, count: 16)),
            ReplyHeader(xid: -1, zxid: -1, err: 0), stat,
            WatcherEvent(type: .nodeCreated, state: .syncConnected, path: "/a/b"),
            SetWatches2(relativeZxid: 4, dataWatches: ["/a"], existWatches: ["/b", "/c"], childWatches: ["/d"], persistentWatches: ["/e"], persistentRecursiveWatches: ["/f"]),
            CreateRequest(path: "/x", data: [1, 2, 3], acl: acl, mode: .ephemeralSequential),
            CreateTTLRequest(path: "/t", data: [], acl: acl, flags: 5, ttl: 1000),
            GetDataResponse(data: [1, 2, 3, 4], stat: stat), GetACLResponse(acl: acl, stat: stat),
            GetChildren2Response(children: ["a", "bb", "ccc"], stat: stat),
            WhoAmIResponse(clientInfo: [ClientInfo(authScheme: "ip", user: "127.0.0.1")]),
            MultiRequest(operations: [
                .create(CreateRequest(path: "/m", data: [1], acl: acl, mode: .persistent)), .check(CheckVersionRequest(path: "/m", version: 1)),
                .setData(SetDataRequest(path: "/m", data: [2], version: -1)), .delete(DeleteRequest(path: "/m")),
                .getData(GetDataRequest(path: "/m")), .getChildren(GetChildrenRequest(path: "/")),
            ]),
            multiResponse,
            SetSASLResponse(token: digestChallenge),
        ]
        var seeds = encodings.map { $0.encoded() }
        seeds.append(ReplyHeader(xid: 5, zxid: 6, err: 0).encoded() + multiResponse.encoded())
        seeds.append(digestChallenge)
        return seeds
    }()

    public static let multiResponse = MultiResponse(results: [
        .create(path: "/a"), .create2(path: "/b", stat: stat), .delete, .setData(stat: stat), .check,
        .getChildren(children: ["x"]), .getData(data: [1], stat: stat), .error(.noNode),
    ])

    /// A DIGEST-MD5 challenge as ZooKeeper's server sends it.
    public static let digestChallenge = Array(#"realm="zk-sasl-md5",nonce="OA6MG9tEQGm2hh",qop="auth",charset=utf-8,algorithm=md5-sess"#.utf8)
}
