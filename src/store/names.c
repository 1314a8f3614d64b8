/*
 * Names of the enumerations stored as integers (docs/trace-format.md).
 * They are part of the dump output: change them only with the docs.
 */
#include "store/reader.h"

static const char *name_of(const char *const *names, unsigned int n, unsigned int v)
{
	return v < n && names[v] ? names[v] : "?";
}

#define NAME_OF(names, v) name_of(names, sizeof(names) / sizeof(names[0]), (unsigned int)(v))

const char *reader_event_kind_name(enum store_event_kind kind)
{
	static const char *const names[] = {
		[STORE_EV_LOAD_BINARY] = "load_binary",
		[STORE_EV_UNLOAD_BINARY] = "unload_binary",
		[STORE_EV_CREATE_THREAD] = "create_thread",
		[STORE_EV_EXIT_THREAD] = "exit_thread",
		[STORE_EV_SIGNAL] = "signal",
		[STORE_EV_EXEC] = "exec",
		[STORE_EV_FORK] = "fork",
		[STORE_EV_ATTACH] = "attach",
	};

	return NAME_OF(names, kind);
}

const char *reader_call_kind_name(enum store_call_kind kind)
{
	static const char *const names[] = {
		[STORE_CALL_ROOT] = "root",     [STORE_CALL_CALL] = "call",
		[STORE_CALL_SCOPE] = "scope",   [STORE_CALL_JUMP] = "jump",
		[STORE_CALL_SIGNAL] = "signal", [STORE_CALL_ATTACHED] = "attached",
	};

	return NAME_OF(names, kind);
}

const char *reader_call_end_name(enum store_call_end end)
{
	static const char *const names[] = {
		[STORE_END_RETURN] = "return", [STORE_END_UNWIND] = "unwind",
		[STORE_END_EXIT] = "exit",     [STORE_END_EXEC] = "exec",
		[STORE_END_KILLED] = "killed", [STORE_END_DETACHED] = "detached",
	};

	return NAME_OF(names, end);
}
