/* The document tree: freeing and lookups. */
#include "kdl/kdl.h"

#include <stdlib.h>
#include <string.h>

void kdl_value_fini(struct kdl_value *value)
{
	if (!value)
		return;
	free(value->type.ptr);
	free(value->text.ptr);
	memset(value, 0, sizeof(*value));
}

void kdl_node_fini(struct kdl_node *node)
{
	size_t i;

	if (!node)
		return;
	free(node->type.ptr);
	free(node->name.ptr);
	for (i = 0; i < node->args.len; i++)
		kdl_value_fini(&node->args.data[i]);
	for (i = 0; i < node->props.len; i++) {
		free(node->props.data[i].name.ptr);
		kdl_value_fini(&node->props.data[i].value);
	}
	for (i = 0; i < node->children.len; i++)
		kdl_node_fini(&node->children.data[i]);
	vec_free(&node->args);
	vec_free(&node->props);
	vec_free(&node->children);
	memset(node, 0, sizeof(*node));
}

void kdl_document_fini(struct kdl_document *doc)
{
	size_t i;

	if (!doc)
		return;
	for (i = 0; i < doc->nodes.len; i++)
		kdl_node_fini(&doc->nodes.data[i]);
	vec_free(&doc->nodes);
}

const struct kdl_prop *kdl_node_prop(const struct kdl_node *node, const char *name)
{
	size_t i, len = strlen(name);

	for (i = 0; i < node->props.len; i++) {
		const struct kdl_prop *p = &node->props.data[i];

		if (p->name.len == len && !memcmp(p->name.ptr, name, len))
			return p;
	}
	return NULL;
}

const char *kdl_kind_name(enum kdl_kind kind)
{
	switch (kind) {
	case KDL_NULL:
		return "null";
	case KDL_BOOL:
		return "boolean";
	case KDL_INT:
		return "integer";
	case KDL_FLOAT:
		return "float";
	case KDL_STRING:
		return "string";
	}
	return "value";
}
