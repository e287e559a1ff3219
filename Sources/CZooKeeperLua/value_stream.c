/*
 * Lua values to the value stream of zookeeper_lua.h and back. Encoding checks every value
 * before anything is referenced, so a bad argument raises with nothing to undo.
 */
#include <stdio.h>
#include <string.h>

#include "glue.h"

#define MAX_DEPTH 32

/* ---- Lua values -> value stream ------------------------------------------------------------ */

typedef struct {
    uint8_t *bytes; /* NULL in the measuring pass */
    size_t length;
    const char *function; /* the method or function whose arguments these are, for errors */
} Writer;

/* `bad argument #n to 'function' (...)`, numbered as the core numbers them (a method's self is
 * #1). Not luaL_argerror: it renumbers method calls and loses the name under LuaJIT. */
static void argument_error(lua_State *L, Writer *w, int argument, const char *message) {
    luaL_where(L, 1);
    lua_pushfstring(L, "bad argument #%d to '%s' (%s)", argument, w->function, message);
    lua_concat(L, 2);
    lua_error(L);
}

static void put(Writer *w, const void *data, size_t n) {
    if (w->bytes) memcpy(w->bytes + w->length, data, n);
    w->length += n;
}

static void put_tag(Writer *w, uint8_t tag) { put(w, &tag, 1); }

static void put_u32(Writer *w, uint32_t v) { put(w, &v, 4); }

/* Encodes the value at `index`. The measuring pass validates and raises on bad input (before
 * anything is referenced); the writing pass takes registry references for functions. */
static void encode_value(lua_State *L, int index, Writer *w, int depth, int argument) {
    index = index < 0 ? lua_gettop(L) + index + 1 : index;
    switch (lua_type(L, index)) {
    case LUA_TNIL: put_tag(w, ZKL_NIL); break;
    case LUA_TBOOLEAN: put_tag(w, lua_toboolean(L, index) ? ZKL_TRUE : ZKL_FALSE); break;
    case LUA_TNUMBER: {
        double d = lua_tonumber(L, index);
        put_tag(w, ZKL_NUMBER);
        put(w, &d, sizeof d);
        break;
    }
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, index, &n);
        if (n > MAX_ARGS_BYTES) argument_error(L, w, argument, "string too large");
        put_tag(w, ZKL_STRING);
        put_u32(w, (uint32_t)n);
        put(w, s, n);
        break;
    }
    case LUA_TTABLE: {
        uint32_t count = 0;
        size_t count_at;
        if (depth >= MAX_DEPTH) argument_error(L, w, argument, "table nested too deeply (or cyclic)");
        luaL_checkstack(L, 4, "resty.zookeeper: table too deep");
        put_tag(w, ZKL_TABLE);
        count_at = w->length;
        put_u32(w, 0);
        lua_pushnil(L);
        while (lua_next(L, index)) {
            int kt = lua_type(L, -2);
            if (kt != LUA_TNUMBER && kt != LUA_TSTRING) argument_error(L, w, argument, "table keys must be numbers or strings");
            /* Encode a copy of the key: lua_tolstring on a number key would confuse lua_next. */
            lua_pushvalue(L, -2);
            encode_value(L, -1, w, depth + 1, argument);
            lua_pop(L, 1);
            encode_value(L, -1, w, depth + 1, argument);
            lua_pop(L, 1);
            count++;
        }
        if (w->bytes) memcpy(w->bytes + count_at, &count, 4);
        break;
    }
    case LUA_TFUNCTION:
        put_tag(w, ZKL_FUNCTION);
        if (w->bytes) {
            int32_t ref;
            lua_pushvalue(L, index);
            ref = (int32_t)luaL_ref(L, LUA_REGISTRYINDEX);
            put(w, &ref, 4);
        } else {
            w->length += 4;
        }
        break;
    default: {
        char message[80];
        snprintf(message, sizeof message, "unsupported value of type %s", luaL_typename(L, index));
        argument_error(L, w, argument, message);
    }
    }
    if (w->length > MAX_ARGS_BYTES) argument_error(L, w, argument, "arguments too large");
}

const uint8_t *encode_stream(lua_State *L, const char *function, int first, int last, size_t *length) {
    Writer w = {NULL, 4, function};
    int i;
    for (i = first; i <= last; i++) encode_value(L, i, &w, 0, i);
    *length = w.length;
    w.bytes = lua_newuserdata(L, w.length);
    w.length = 0;
    put_u32(&w, (uint32_t)(last >= first ? last - first + 1 : 0));
    for (i = first; i <= last; i++) encode_value(L, i, &w, 0, i);
    return w.bytes;
}

/* ---- value stream -> Lua values ------------------------------------------------------------ */

typedef struct {
    const uint8_t *bytes;
    size_t length;
    size_t offset;
} Reader;

static int take(Reader *r, void *out, size_t n) {
    if (r->length - r->offset < n) return 0;
    memcpy(out, r->bytes + r->offset, n);
    r->offset += n;
    return 1;
}

/* Pushes one value; returns 0 on a malformed stream (the core's bug, never the user's). */
static int push_value(lua_State *L, Reader *r, int depth) {
    uint8_t tag;
    if (depth > MAX_DEPTH || !take(r, &tag, 1)) return 0;
    luaL_checkstack(L, 3, "resty.zookeeper: reply too deep");
    switch (tag) {
    case ZKL_NIL: lua_pushnil(L); return 1;
    case ZKL_FALSE: lua_pushboolean(L, 0); return 1;
    case ZKL_TRUE: lua_pushboolean(L, 1); return 1;
    case ZKL_NUMBER: {
        double d;
        if (!take(r, &d, sizeof d)) return 0;
        lua_pushnumber(L, d);
        return 1;
    }
    case ZKL_STRING: {
        uint32_t n;
        if (!take(r, &n, 4) || r->length - r->offset < n) return 0;
        lua_pushlstring(L, (const char *)r->bytes + r->offset, n);
        r->offset += n;
        return 1;
    }
    case ZKL_TABLE: {
        uint32_t count, i;
        if (!take(r, &count, 4)) return 0;
        lua_createtable(L, 0, 0);
        for (i = 0; i < count; i++) {
            if (!push_value(L, r, depth + 1)) return 0;
            if (!push_value(L, r, depth + 1)) return 0;
            lua_rawset(L, -3);
        }
        return 1;
    }
    case ZKL_FUNCTION: {
        int32_t ref;
        if (!take(r, &ref, 4)) return 0;
        lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
        return 1;
    }
    default: return 0;
    }
}

int push_stream(lua_State *L, const uint8_t *bytes, size_t length) {
    Reader r = {bytes, length, 0};
    uint32_t count, i;
    int top = lua_gettop(L);
    if (!take(&r, &count, 4)) return luaL_error(L, "resty.zookeeper: malformed reply");
    for (i = 0; i < count; i++) {
        if (!push_value(L, &r, 0)) {
            lua_settop(L, top);
            return luaL_error(L, "resty.zookeeper: malformed reply");
        }
    }
    return (int)count;
}
