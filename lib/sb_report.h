/* sb_report.h: how frames and stacks are written: text, JSON, folded. */
#ifndef SB_REPORT_H
#define SB_REPORT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "sb_syms.h"

/* Whether to colour output on f: a terminal, and NO_COLOR unset. */
bool sb_report_use_color(FILE *f);

/*
 * A frame's short name: "spin_inner", or "module+0xoffset" (module's base
 * name) when no symbol covers it, or "0xaddr" outside any module.
 */
const char *sb_report_frame_name(const struct sb_symbol_info *s, char *buf,
				 size_t size);

/* "file.c:31" (base name of the file), or "" when unknown. */
const char *sb_report_file_line(const struct sb_symbol_info *s, char *buf,
				size_t size);

/*
 * One frame on a line: "#3  0x55..  spin_inner+0x12 (spin-worker.c:31)
 * in spin-worker", with the build-id when unnamed, so the address can be
 * symbolized later against the unstripped file.
 */
void sb_report_frame_text(FILE *f, int index, const struct sb_symbol_info *s,
			  const char *indent);

/*
 * A frame as JSON: {addr, function, offset, file, line, module,
 * module_offset, build_id}; absent facts are null, addresses hex strings.
 * The caller owns the object.
 */
json_object *sb_report_frame_json(const struct sb_symbol_info *s);

/* A hex string object "0x..." for addresses. */
json_object *sb_report_hex(uint64_t v);

/* Name a module for people: base name of its path. */
const char *sb_report_module_name(const char *path);

#endif
