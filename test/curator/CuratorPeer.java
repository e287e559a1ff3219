// A Curator 5.4 peer for the recipe interop tests (Tests/ZooKeeperClientTests/CuratorInteropTests.swift).
// Reads one command per line on stdin, answers one line per event on stdout:
//   lock PATH            -> "locked" once InterProcessMutex.acquire() returns
//   trylock PATH MS      -> "locked" or "timeout"
//   unlock               -> "unlocked" (the last lock taken, of any kind)
//   rlock PATH / wlock PATH          -> "locked" (InterProcessReadWriteLock's read / write side)
//   tryrlock PATH MS / trywlock PATH MS -> "locked" or "timeout"
//   semacquire PATH MAX MS -> "lease" or "timeout" (InterProcessSemaphoreV2 with MAX leases)
//   semrelease           -> "released" (the last lease taken)
//   barrierset PATH / barrierremove PATH -> "set" / "removed" (DistributedBarrier)
//   barrierwait PATH MS  -> "passed" or "timeout", in the background (commands go on meanwhile)
//   latch PATH ID        -> starts a LeaderLatch; "leader" / "notleader" as it changes
//   closelatch           -> "latchclosed"
//   count PATH N         -> N increments through SharedCount.trySetCount; "counted VALUE"
//   offer PATH N PREFIX  -> N items "PREFIX-i" through SimpleDistributedQueue.offer; "offered N"
//   drain PATH MS        -> takes with SimpleDistributedQueue.poll until one waits MS in vain;
//                           "item DATA" per item, then "drained COUNT"
//   dbenter NAME PATH COUNT MS -> a DistributedDoubleBarrier member NAME of COUNT enters, in the
//                           background: "entered NAME" or "enter-timeout NAME"
//   dbleave NAME MS      -> member NAME leaves, in the background: "left NAME" or "leave-timeout NAME"
//   sleep MS             -> "slept" after MS (the next command waits: a delayed unlock, say)
//   quit
// Usage: java -cp ... CuratorPeer CONNECT_STRING
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.barriers.DistributedBarrier;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.queue.SimpleDistributedQueue;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.retry.RetryNTimes;

public class CuratorPeer {
    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    interface Step { String run() throws Exception; }

    // Runs a waiting step on its own thread (commands go on meanwhile) and says its answer.
    static void inBackground(Step step) {
        new Thread(() -> {
            try {
                say(step.run());
            } catch (Exception e) {
                say("error " + e);
            }
        }).start();
    }

    public static void main(String[] args) throws Exception {
        CuratorFramework client = CuratorFrameworkFactory.newClient(args[0], 10000, 5000, new RetryNTimes(3, 100));
        client.start();
        client.blockUntilConnected(10, TimeUnit.SECONDS);
        say("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        InterProcessMutex mutex = null;
        Deque<Lease> leases = new ArrayDeque<>();
        LeaderLatch latch = null;
        Map<String, DistributedDoubleBarrier> members = new ConcurrentHashMap<>();
        String line;
        while ((line = in.readLine()) != null) {
            String[] w = line.trim().split(" ");
            switch (w[0]) {
                case "lock":
                    mutex = new InterProcessMutex(client, w[1]);
                    mutex.acquire();
                    say("locked");
                    break;
                case "trylock":
                    mutex = new InterProcessMutex(client, w[1]);
                    say(mutex.acquire(Long.parseLong(w[2]), TimeUnit.MILLISECONDS) ? "locked" : "timeout");
                    break;
                case "rlock":
                case "wlock": {
                    InterProcessReadWriteLock rw = new InterProcessReadWriteLock(client, w[1]);
                    mutex = w[0].equals("rlock") ? rw.readLock() : rw.writeLock();
                    mutex.acquire();
                    say("locked");
                    break;
                }
                case "tryrlock":
                case "trywlock": {
                    InterProcessReadWriteLock rw = new InterProcessReadWriteLock(client, w[1]);
                    mutex = w[0].equals("tryrlock") ? rw.readLock() : rw.writeLock();
                    say(mutex.acquire(Long.parseLong(w[2]), TimeUnit.MILLISECONDS) ? "locked" : "timeout");
                    break;
                }
                case "semacquire": {
                    InterProcessSemaphoreV2 semaphore = new InterProcessSemaphoreV2(client, w[1], Integer.parseInt(w[2]));
                    Lease lease = semaphore.acquire(Long.parseLong(w[3]), TimeUnit.MILLISECONDS);
                    if (lease != null) leases.push(lease);
                    say(lease != null ? "lease" : "timeout");
                    break;
                }
                case "semrelease":
                    leases.pop().close();
                    say("released");
                    break;
                case "barrierset":
                    new DistributedBarrier(client, w[1]).setBarrier();
                    say("set");
                    break;
                case "barrierremove":
                    new DistributedBarrier(client, w[1]).removeBarrier();
                    say("removed");
                    break;
                case "barrierwait": {
                    DistributedBarrier barrier = new DistributedBarrier(client, w[1]);
                    long ms = Long.parseLong(w[2]);
                    inBackground(() -> barrier.waitOnBarrier(ms, TimeUnit.MILLISECONDS) ? "passed" : "timeout");
                    break;
                }
                case "dbenter": {
                    String name = w[1];
                    DistributedDoubleBarrier member = new DistributedDoubleBarrier(client, w[2], Integer.parseInt(w[3]));
                    members.put(name, member);
                    long ms = Long.parseLong(w[4]);
                    inBackground(() -> (member.enter(ms, TimeUnit.MILLISECONDS) ? "entered " : "enter-timeout ") + name);
                    break;
                }
                case "dbleave": {
                    String name = w[1];
                    DistributedDoubleBarrier member = members.get(name);
                    long ms = Long.parseLong(w[2]);
                    inBackground(() -> (member.leave(ms, TimeUnit.MILLISECONDS) ? "left " : "leave-timeout ") + name);
                    break;
                }
                case "sleep":
                    Thread.sleep(Long.parseLong(w[1]));
                    say("slept");
                    break;
                case "unlock":
                    mutex.release();
                    say("unlocked");
                    break;
                case "latch":
                    latch = new LeaderLatch(client, w[1], w[2]);
                    latch.addListener(new LeaderLatchListener() {
                        public void isLeader() { say("leader"); }
                        public void notLeader() { say("notleader"); }
                    });
                    latch.start();
                    break;
                case "closelatch":
                    latch.close(LeaderLatch.CloseMode.NOTIFY_LEADER);
                    say("latchclosed");
                    break;
                case "count": {
                    SharedCount count = new SharedCount(client, w[1], 0);
                    count.start();
                    int n = Integer.parseInt(w[2]);
                    for (int i = 0; i < n; i++) {
                        while (true) {
                            VersionedValue<Integer> seen = count.getVersionedValue();
                            if (count.trySetCount(seen, seen.getValue() + 1)) break;
                        }
                    }
                    say("counted " + count.getCount());
                    count.close();
                    break;
                }
                case "offer": {
                    SimpleDistributedQueue queue = new SimpleDistributedQueue(client, w[1]);
                    int n = Integer.parseInt(w[2]);
                    for (int i = 0; i < n; i++) queue.offer((w[3] + "-" + i).getBytes("UTF-8"));
                    say("offered " + n);
                    break;
                }
                case "drain": {
                    SimpleDistributedQueue queue = new SimpleDistributedQueue(client, w[1]);
                    int count = 0;
                    byte[] item;
                    while ((item = queue.poll(Long.parseLong(w[2]), TimeUnit.MILLISECONDS)) != null) {
                        say("item " + new String(item, "UTF-8"));
                        count++;
                    }
                    say("drained " + count);
                    break;
                }
                case "quit":
                    client.close();
                    return;
                default:
                    say("unknown " + w[0]);
            }
        }
        client.close();
    }
}
