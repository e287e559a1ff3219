/*
 * The C ABI between the Lua glue (the C files beside include/) and the Swift core (ZooKeeperLua, exported
 * with @_cdecl). Only C types cross it. Arguments and results travel as a "value stream", a
 * flat encoding of Lua values both sides read and write:
 *
 *   0x00 nil | 0x01 false | 0x02 true | 0x03 number (8-byte double)
 *   0x04 string (u32 length, bytes) | 0x05 table (u32 pair count, then key, value pairs)
 *   0x06 function (i32 registry reference)
 *
 * integers in host byte order (both sides live in one process). A stream is a u32 count of
 * values followed by the values.
 */
#ifndef ZOOKEEPER_LUA_H
#define ZOOKEEPER_LUA_H

#include <stddef.h>
#include <stdint.h>

enum {
    ZKL_NIL = 0, ZKL_FALSE = 1, ZKL_TRUE = 2, ZKL_NUMBER = 3, ZKL_STRING = 4, ZKL_TABLE = 5, ZKL_FUNCTION = 6,
};

/* What a call asks of the glue. */
enum {
    ZKL_DONE = 0,  /* the reply holds the return values */
    ZKL_WAIT = 1,  /* wait for the ticket with zkl_wait, then zkl_finish */
    ZKL_RAISE = 2, /* a caller mistake: raise the reply's first value as an error */
};

/* What zkl_wait saw. */
enum {
    ZKL_READY = 1, /* the ticket is answered: call zkl_finish */
    ZKL_EVENT = 2, /* a callback is due first: run zkl_next_event, then wait again */
};

/* The client's methods, declared once in the core (LuaMethodTable.swift): method `index`
 * (from 0) sets its name (valid for the process's life) and flags and returns 1; 0 past the
 * last. The glue registers them at luaopen. */
enum {
    ZKL_METHOD_BATCHABLE = 1, /* a batch{} may contain it */
    ZKL_METHOD_ASYNC = 2,     /* it has a <name>_async form */
    ZKL_METHOD_INSTANT = 4,   /* it answers at once, in any phase */
    ZKL_METHOD_HIDDEN = 8,    /* not a method of the object (the glue reaches it otherwise) */
    ZKL_METHOD_CONTRACT = 16, /* one of the original client's calls */
    ZKL_METHOD_OBJECT = 32,   /* it answers an object: its first value is an id the glue wraps; the
                                 object's methods are the declared "<name>:<method>"s, called on
                                 the client with the id first */
};
int32_t zkl_method(int32_t index, const char **name, int32_t *flags);

/* A client for zk.new's options (a stream of one table); NULL and a message on failure. */
void *zkl_new(const uint8_t *options, size_t length, const uint8_t **reply, size_t *reply_length);

/* Calls `method` with arguments (a stream). Returns ZKL_DONE, ZKL_WAIT (with *ticket set) or
 * ZKL_RAISE; the reply stream stays valid until the next call on this client. */
int32_t zkl_call(void *client, const char *method, const uint8_t *args, size_t length, uint64_t *ticket,
                 const uint8_t **reply, size_t *reply_length);

/* One simple argument (nil, boolean, number or string), read straight from the Lua stack: a
 * string's bytes are Lua's own, valid during the call only. */
typedef struct {
    int32_t type; /* ZKL_NIL, ZKL_FALSE, ZKL_TRUE, ZKL_NUMBER or ZKL_STRING */
    double number;
    const char *bytes;
    size_t length;
} zkl_arg;

/* The most simple arguments a call may pass this way; a call with more, or with a table or a
 * function, goes through zkl_call's value stream. */
#define ZKL_MAX_SIMPLE_ARGS 8

/* zkl_call for simple arguments: no value stream is built or read. */
int32_t zkl_call_simple(void *client, const char *method, const zkl_arg *args, int32_t count, uint64_t *ticket,
                        const uint8_t **reply, size_t *reply_length);

/* Blocks until the ticket is answered (ZKL_READY) or a callback is due (ZKL_EVENT). */
int32_t zkl_wait(void *client, uint64_t ticket);

/* The reply of an answered ticket: ZKL_DONE or ZKL_RAISE, as zkl_call. */
int32_t zkl_finish(void *client, uint64_t ticket, const uint8_t **reply, size_t *reply_length);

/* Gives up a ticket that will not be finished; its answer is dropped when it comes. */
void zkl_forget(void *client, uint64_t ticket);

/* A recipe object (ZKL_METHOD_OBJECT) was collected: the core gives its work up (a lock attempt
 * its node, an election its place) and hands its callback back (zkl_next_unref). Touches no
 * reply: safe from a __gc that runs while another call's reply is being read. */
void zkl_drop_object(void *client, double id);

/* The next due callback: its registry reference (0 when none) and its arguments (a stream). */
int32_t zkl_next_event(void *client, const uint8_t **args, size_t *length);

/* A registry reference the core no longer holds (0 when none), to release with luaL_unref. */
int32_t zkl_next_unref(void *client);

/* Lines the core wants printed (debug output), one per call; NULL when none. */
const char *zkl_next_log_line(void *client);

/* Closes the session, waiting up to a second for the server to confirm (so that its ephemeral
 * nodes go at once; a hosted session is not driven here and does not wait), and hands back
 * every registry reference the core holds (through zkl_next_unref); the client stays valid
 * until zkl_free. */
void zkl_release(void *client);

/* Frees the client (after zkl_release). */
void zkl_free(void *client);

/* ---- the cosocket driver (clients made with `_hosted = true`: Lua moves the bytes) ---------- */

/* What zkl_check sees, without waiting: ZKL_READY (answered, or past its deadline), ZKL_EVENT
 * (a callback is due first), or 0 (neither). */
int32_t zkl_check(void *client, uint64_t ticket);

/* For a shared client's driver: the tickets that became ready since the last call (*ids, valid
 * until the next call; past their deadline ones are not reported: their waiters wake by
 * themselves) and whether a callback is due (1) or not (0). */
int32_t zkl_ready(void *client, const uint64_t **ids, size_t *count);

/* What session_state() answers, without a call: a string valid for the process's life. */
const char *zkl_session_state(void *client);

/* What the driver must do next with a link (one connection): */
enum {
    ZKL_IO_NONE = 0,
    ZKL_IO_CONNECT = 1, /* open a link to host (bytes) and *port */
    ZKL_IO_SEND = 2,    /* write bytes on the link */
    ZKL_IO_CLOSE = 3,   /* close the link; report nothing more about it */
    ZKL_IO_PROBE = 4,   /* as CONNECT, for a link beside the session's: a read-write probe */
};
int32_t zkl_io_next(void *client, uint64_t *link, const uint8_t **bytes, size_t *length, int32_t *port);

/* What happened to a link: */
/* REFUSED: the link's TLS refused a certificate (bytes: why); the session ends as auth_failed. */
enum { ZKL_IO_ESTABLISHED = 1, ZKL_IO_FAILED = 2, ZKL_IO_CLOSED = 3, ZKL_IO_RECEIVED = 4, ZKL_IO_REFUSED = 5 };
void zkl_io_report(void *client, int32_t kind, uint64_t link, const uint8_t *bytes, size_t length);

/* Time passed: pings, timeouts, reconnect pauses are due when zkl_io_wait_ms says. */
void zkl_io_tick(void *client);

/* Milliseconds until the sessions' next timer or the ticket's deadline (ticket 0: timers
 * only); -1 when nothing is due. */
int64_t zkl_io_wait_ms(void *client, uint64_t ticket);

#endif
