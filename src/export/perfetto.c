/*
 * perfetto: Perfetto's own protobuf trace (docs/export.md), for traces
 * too big for the JSON of `chrome`: https://ui.perfetto.dev and
 * trace_processor open it. The file is a stream of TracePackets
 * (perfetto.proto, compiled by protoc-c), each packed as one entry of a
 * Trace's repeated `packet` field, so that the packets concatenate into
 * one Trace:
 *
 *	track_descriptor  the process (uuid 1), then one track per thread
 *	track_event       SLICE_BEGIN when a call begins (its function's name
 *	                  interned: the name goes once into the packet's
 *	                  interned_data, later slices give its iid), with
 *	                  call_id and insns as debug annotations (their names
 *	                  interned too); SLICE_END when it ends
 *
 * Packets go out as the walk goes: memory holds the interned names (one
 * per function), never the calls. Timestamps are the --clock axis: one
 * nanosecond per instruction, or the recorded nanoseconds from the start.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "export/perfetto.pb-c.h"
#include "util/hashmap.h"
#include "util/xalloc.h"

#define TRACKS_SEQUENCE 1 /* the track descriptors; a thread's events are on 2 + its nosco id */
#define PROCESS_UUID    1 /* the process track; thread tracks are 2 + the nosco thread id */

/* The debug annotations of a slice, by their interned names' iids. */
enum { ARG_CALL_ID = 1, ARG_INSNS, N_ARGS = ARG_INSNS };

/* A ProtobufCBuffer that writes to the output as the message is packed. */
struct file_buffer {
	ProtobufCBuffer base;
	FILE *out;
};

static void file_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
	fwrite(data, 1, len, ((struct file_buffer *)b)->out);
}

/*
 * Each thread's events are a packet sequence of their own, so that the
 * timestamps of a sequence never go back; interned names are the state of
 * a sequence: a name is written again in each thread that uses it, with
 * the iid it has everywhere.
 */
struct perfetto {
	struct file_buffer buf;
	struct hashmap iids; /* function (export_func_key) -> its name's iid */
	uint64_t next_iid;
	uint32_t seq;        /* the sequence of the packets being written */
	bool fresh;          /* its next event clears its incremental state */
	struct hashmap sent; /* the iids of the names written on it */
	bool args_named;     /* the annotations' names were written on it */
};

/* One packet, as a Trace of one packet: concatenated, they are one Trace. */
static void emit(struct perfetto *p, uint32_t seq, Perfetto__Protos__TracePacket *pkt)
{
	Perfetto__Protos__Trace trace = PERFETTO__PROTOS__TRACE__INIT;

	pkt->has_trusted_packet_sequence_id = true;
	pkt->trusted_packet_sequence_id = seq;
	trace.n_packet = 1;
	trace.packet = &pkt;
	perfetto__protos__trace__pack_to_buffer(&trace, &p->buf.base);
}

/* The events of a thread go on its sequence, which starts with a clean state. */
static void use_sequence(struct perfetto *p, int64_t thread)
{
	uint32_t seq = (uint32_t)(2 + thread);

	if (seq == p->seq)
		return;
	p->seq = seq;
	p->fresh = true;
	p->args_named = false;
	hashmap_fini(&p->sent);
	hashmap_init(&p->sent);
}

static uint64_t thread_uuid(int64_t thread)
{
	return 2 + (uint64_t)thread;
}

static void process_track(struct export_ctx *x, struct perfetto *p)
{
	Perfetto__Protos__TracePacket pkt = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	Perfetto__Protos__TrackDescriptor td = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
	Perfetto__Protos__ProcessDescriptor pd = PERFETTO__PROTOS__PROCESS_DESCRIPTOR__INIT;
	const char *program = reader_meta_text(x->r, "program");
	size_t i, n = reader_argc(x->r), len;
	char **argv = xcalloc(n ? n : 1, sizeof(*argv));
	int64_t pid;

	for (i = 0; i < n; i++) {
		const char *arg = reader_argv(x->r, i, &len);

		argv[i] = xstrndup(arg, len);
	}
	pd.has_pid = !reader_meta_int(x->r, "pid", &pid);
	pd.pid = (int32_t)pid;
	pd.n_cmdline = n;
	pd.cmdline = argv;
	pd.process_name = (char *)(program ? program : "nosco trace");
	td.has_uuid = true;
	td.uuid = PROCESS_UUID;
	td.process = &pd;
	pkt.track_descriptor = &td;
	emit(p, TRACKS_SEQUENCE, &pkt);
	for (i = 0; i < n; i++)
		free(argv[i]);
	free(argv);
}

static void thread_tracks(struct export_ctx *x, struct perfetto *p)
{
	const struct reader_thread *t;
	int64_t pid;
	char name[32];

	if (reader_meta_int(x->r, "pid", &pid))
		pid = 0;
	vec_foreach (&x->threads, t) {
		Perfetto__Protos__TracePacket pkt = PERFETTO__PROTOS__TRACE_PACKET__INIT;
		Perfetto__Protos__TrackDescriptor td = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
		Perfetto__Protos__ThreadDescriptor th = PERFETTO__PROTOS__THREAD_DESCRIPTOR__INIT;

		if (x->a->has_thread && t->tid != x->a->tid)
			continue;
		snprintf(name, sizeof(name), "thread %d", t->tid);
		th.has_pid = th.has_tid = true;
		th.pid = (int32_t)pid;
		th.tid = t->tid;
		th.thread_name = name;
		td.has_uuid = td.has_parent_uuid = true;
		td.uuid = thread_uuid(t->id);
		td.parent_uuid = PROCESS_UUID;
		td.thread = &th;
		pkt.track_descriptor = &td;
		emit(p, TRACKS_SEQUENCE, &pkt);
	}
}

/* The slice's debug annotations: call_id and insns (their names are interned once). */
static void slice_args(struct perfetto *p, const struct export_frame *f,
                       Perfetto__Protos__DebugAnnotation args[N_ARGS],
                       Perfetto__Protos__DebugAnnotationName names[N_ARGS],
                       Perfetto__Protos__InternedData *in)
{
	static const char *const arg_names[N_ARGS] = { "call_id", "insns" };
	int i;

	for (i = 0; i < N_ARGS; i++) {
		perfetto__protos__debug_annotation__init(&args[i]);
		args[i].has_name_iid = args[i].has_uint_value = true;
		args[i].name_iid = (uint64_t)i + 1;
		perfetto__protos__debug_annotation_name__init(&names[i]);
		names[i].has_iid = true;
		names[i].iid = (uint64_t)i + 1;
		names[i].name = (char *)arg_names[i];
	}
	args[ARG_CALL_ID - 1].uint_value = (uint64_t)f->call.id;
	args[ARG_INSNS - 1].uint_value = f->call.pos_end - f->call.pos_start;
	if (!p->args_named) {
		in->n_debug_annotation_names = N_ARGS;
		p->args_named = true;
	}
}

static int begin(struct export_walk *w, struct export_frame *f, struct err *err)
{
	struct export_ctx *x = w->x;
	struct perfetto *p = w->ctx;
	Perfetto__Protos__TracePacket pkt = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	Perfetto__Protos__TrackEvent ev = PERFETTO__PROTOS__TRACK_EVENT__INIT;
	Perfetto__Protos__InternedData in = PERFETTO__PROTOS__INTERNED_DATA__INIT;
	Perfetto__Protos__EventName name = PERFETTO__PROTOS__EVENT_NAME__INIT;
	Perfetto__Protos__EventName *names[1] = { &name };
	Perfetto__Protos__DebugAnnotation args[N_ARGS];
	Perfetto__Protos__DebugAnnotationName arg_names[N_ARGS];
	Perfetto__Protos__DebugAnnotation *argp[N_ARGS] = { &args[0], &args[1] };
	Perfetto__Protos__DebugAnnotationName *arg_namep[N_ARGS] = { &arg_names[0], &arg_names[1] };
	uint64_t key = export_func_key(x, &f->call, NULL);
	uintptr_t iid = key ? (uintptr_t)hashmap_get(&p->iids, key) : 0;

	(void)err;
	use_sequence(p, f->call.thread);
	if (!iid) {
		iid = (uintptr_t)++p->next_iid;
		if (key)
			hashmap_put(&p->iids, key, (void *)iid);
	}
	if (!key || !hashmap_get(&p->sent, iid)) {
		/* a name new to the sequence goes with this packet (without a key, each time) */
		hashmap_put(&p->sent, iid, (void *)1);
		name.has_iid = true;
		name.iid = iid;
		name.name = (char *)export_name(x, &f->call);
		in.n_event_names = 1;
		in.event_names = names;
	}
	slice_args(p, f, args, arg_names, &in);
	in.debug_annotation_names = arg_namep;
	if (in.n_event_names || in.n_debug_annotation_names)
		pkt.interned_data = &in;
	ev.has_type = ev.has_name_iid = ev.has_track_uuid = true;
	ev.type = PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_BEGIN;
	ev.name_iid = iid;
	ev.track_uuid = thread_uuid(f->call.thread);
	ev.n_debug_annotations = N_ARGS;
	ev.debug_annotations = argp;
	pkt.has_timestamp = true;
	pkt.timestamp = export_ts_start(x, f);
	pkt.track_event = &ev;
	pkt.has_sequence_flags = true;
	pkt.sequence_flags =
	        PERFETTO__PROTOS__TRACE_PACKET__SEQUENCE_FLAGS__SEQ_NEEDS_INCREMENTAL_STATE;
	if (p->fresh)
		pkt.sequence_flags |=
		        PERFETTO__PROTOS__TRACE_PACKET__SEQUENCE_FLAGS__SEQ_INCREMENTAL_STATE_CLEARED;
	p->fresh = false;
	emit(p, p->seq, &pkt);
	return 0;
}

static int end(struct export_walk *w, struct export_frame *f, struct err *err)
{
	struct perfetto *p = w->ctx;
	Perfetto__Protos__TracePacket pkt = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	Perfetto__Protos__TrackEvent ev = PERFETTO__PROTOS__TRACK_EVENT__INIT;

	(void)err;
	ev.has_type = ev.has_track_uuid = true;
	ev.type = PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_END;
	ev.track_uuid = thread_uuid(f->call.thread);
	pkt.has_timestamp = true;
	pkt.timestamp = export_ts_end(w->x, f);
	pkt.track_event = &ev;
	emit(p, p->seq, &pkt);
	return 0;
}

int export_perfetto(struct export_ctx *x, struct err *err)
{
	struct perfetto p = { .buf = { .base = { .append = file_append }, .out = x->a->out } };
	struct export_walk w = { .ctx = &p, .enter = begin, .leave = end };
	int rc;

	hashmap_init(&p.iids);
	hashmap_init(&p.sent);
	process_track(x, &p);
	thread_tracks(x, &p);
	rc = export_walk(x, &w, err);
	hashmap_fini(&p.iids);
	hashmap_fini(&p.sent);
	return rc;
}
