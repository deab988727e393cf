/* prog_text.c — compiler of the program text form (see prog_text.h).
 *
 * One pass, one line at a time: a lexer hands tokens to a recursive
 * descent parser that emits an op as soon as it has reduced a call or an
 * operator, writing it to a fresh temp. An assignment then retargets the
 * statement's last op from its temp to the assigned name, so that
 * `h = relu(a)` costs one op and one variable. t() stays pending until
 * its consumer is known: a matmul takes it as a flag, anything else gets a
 * PROG_TRANSPOSE op.
 */
#include "daemon/models/prog_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PT_DEPTH_MAX  64 /* nesting of parentheses, calls, lists and unary minus */
#define PT_ARGS_MAX   8  /* arguments of one call */
#define PT_WHOLE_MAX  2147483647.0
#define PT_NUMBER_MAX 64 /* bytes of a number literal */

typedef enum {
    PT_EOF,
    PT_NEWLINE,
    PT_NAME,
    PT_NUMBER,
    PT_LPAREN,
    PT_RPAREN,
    PT_LBRACKET,
    PT_RBRACKET,
    PT_COMMA,
    PT_EQUALS,
    PT_PLUS,
    PT_MINUS,
    PT_STAR,
    PT_CARET
} pt_tok_type_t;

typedef struct {
    pt_tok_type_t type;
    const char *start;
    size_t len;
    uint32_t line, col;
    double num; /* PT_NUMBER */
} pt_tok_t;

typedef struct {
    const char *p, *end;
    uint32_t line, col;
} pt_lexer_t;

/* What an expression reduced to. */
typedef enum {
    PT_V_TENSOR,
    PT_V_TRANSPOSED, /* t(var), not yet emitted */
    PT_V_NUMBER,
    PT_V_LIST
} pt_vkind_t;

typedef struct {
    pt_vkind_t kind;
    int var;    /* tensors */
    double num; /* numbers */
    int ndim;   /* lists */
    size_t shape[TENSOR_MAX_DIMS];
    uint32_t line, col;   /* where it starts, for messages */
    uint32_t zline, zcol; /* lists: the first 0 past the first entry, or 0 */
} pt_value_t;

typedef struct {
    prog_t *prog;
    size_t cap_vars, cap_ops;
    uint32_t *defined; /* per variable: the line declaring or defining it */
    const char *file;
    trine_err_t *err;
    pt_lexer_t lx;
    pt_tok_t tok; /* the current token */
    unsigned temps;
    int depth;
    size_t stmt_ops, stmt_vars; /* counts when the statement began */
} pt_t;

static trine_status_t pt_fail(pt_t *c, trine_status_t code, uint32_t line, uint32_t col,
                              const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static trine_status_t pt_fail(pt_t *c, trine_status_t code, uint32_t line, uint32_t col,
                              const char *fmt, ...)
{
    char what[TRINE_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return trine_err_set(c->err, code, "%s:%u:%u: %s", c->file, (unsigned)line, (unsigned)col,
                         what);
}

/* ---- lexer ------------------------------------------------------------ */

/* Not <ctype.h>: its answers depend on the locale. */
static bool pt_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool pt_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool pt_tok_is(const pt_tok_t *t, const char *s)
{
    return t->type == PT_NAME && t->len == strlen(s) && !memcmp(t->start, s, t->len);
}

/* "'text'" or "the end of the line", for "expected X but found Y". */
static const char *pt_describe(const pt_tok_t *t, char *buf, size_t cap)
{
    if (t->type == PT_EOF)
        return "the end of the file";
    if (t->type == PT_NEWLINE)
        return "the end of the line";
    snprintf(buf, cap, "'%.*s'", (int)(t->len < 32 ? t->len : 32), t->start);
    return buf;
}

static trine_status_t pt_number(pt_t *c, pt_lexer_t *lx, pt_tok_t *t)
{
    const char *p = lx->p;
    while (p < lx->end && pt_digit(*p))
        p++;
    if (p < lx->end && *p == '.')
        for (p++; p < lx->end && pt_digit(*p);)
            p++;
    if (p < lx->end && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;
        if (q < lx->end && (*q == '+' || *q == '-'))
            q++;
        if (q < lx->end && pt_digit(*q)) {
            for (p = q; p < lx->end && pt_digit(*p);)
                p++;
        }
    }
    t->len = (size_t)(p - lx->p);
    if (t->len >= PT_NUMBER_MAX)
        return pt_fail(c, TRINE_EFORMAT, t->line, t->col, "number is longer than %d bytes",
                       PT_NUMBER_MAX - 1);
    char buf[PT_NUMBER_MAX];
    memcpy(buf, lx->p, t->len);
    buf[t->len] = '\0';
    /* The scan above admits only what strtod reads in full: digits, one
     * point, an exponent; never hex, inf or nan. (strtod reads the C
     * locale's point: trine never calls setlocale.) */
    t->num = strtod(buf, NULL);
    if (!isfinite(t->num))
        return pt_fail(c, TRINE_EFORMAT, t->line, t->col, "number %s is out of range", buf);
    return TRINE_OK;
}

/* Reads the token at lx into t and moves lx past it. */
static trine_status_t pt_lex(pt_t *c, pt_lexer_t *lx, pt_tok_t *t)
{
    while (lx->p < lx->end) {
        if (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r') {
            lx->p++, lx->col++;
        } else if (*lx->p == '#') {
            while (lx->p < lx->end && *lx->p != '\n')
                lx->p++, lx->col++;
        } else {
            break;
        }
    }
    *t = (pt_tok_t){.start = lx->p, .len = 1, .line = lx->line, .col = lx->col};
    if (lx->p == lx->end) {
        t->type = PT_EOF;
        t->len = 0;
        return TRINE_OK;
    }
    char ch = *lx->p;
    trine_status_t st = TRINE_OK;
    if (ch == '\n') {
        t->type = PT_NEWLINE;
        lx->p++;
        lx->line++;
        lx->col = 1;
        return TRINE_OK;
    }
    if (pt_alpha(ch) || ch == '_') {
        t->type = PT_NAME;
        const char *p = lx->p;
        while (p < lx->end && (pt_alpha(*p) || pt_digit(*p) || *p == '_'))
            p++;
        t->len = (size_t)(p - lx->p);
        if (t->len >= PROG_NAME_MAX)
            st = pt_fail(c, TRINE_EFORMAT, t->line, t->col,
                         "name '%.16s...' is longer than %d bytes", t->start, PROG_NAME_MAX - 1);
    } else if (pt_digit(ch) || (ch == '.' && lx->p + 1 < lx->end && pt_digit(lx->p[1]))) {
        t->type = PT_NUMBER;
        st = pt_number(c, lx, t);
    } else {
        static const char punct[] = "()[],=+-*^";
        static const pt_tok_type_t types[] = {PT_LPAREN, PT_RPAREN, PT_LBRACKET, PT_RBRACKET,
                                              PT_COMMA,  PT_EQUALS, PT_PLUS,     PT_MINUS,
                                              PT_STAR,   PT_CARET};
        const char *at = ch ? strchr(punct, ch) : NULL;
        if (!at) {
            if (ch > ' ' && ch < 0x7f)
                return pt_fail(c, TRINE_EFORMAT, t->line, t->col, "unexpected character '%c'", ch);
            return pt_fail(c, TRINE_EFORMAT, t->line, t->col, "unexpected byte 0x%02x",
                           (unsigned)(unsigned char)ch);
        }
        t->type = types[at - punct];
    }
    lx->p += t->len;
    lx->col += (uint32_t)t->len;
    return st;
}

static trine_status_t pt_next(pt_t *c)
{
    return pt_lex(c, &c->lx, &c->tok);
}

/* The type of the token after the current one. */
static trine_status_t pt_peek(pt_t *c, pt_tok_type_t *type)
{
    pt_lexer_t lx = c->lx;
    pt_tok_t t;
    trine_status_t st = pt_lex(c, &lx, &t);
    *type = t.type;
    return st;
}

static trine_status_t pt_expect(pt_t *c, pt_tok_type_t type, const char *what)
{
    char buf[48];
    if (c->tok.type != type)
        return pt_fail(c, TRINE_EFORMAT, c->tok.line, c->tok.col, "expected %s but found %s", what,
                       pt_describe(&c->tok, buf, sizeof buf));
    return pt_next(c);
}

/* ---- variables and ops ------------------------------------------------ */

static int pt_find(const prog_t *p, const char *name, size_t len)
{
    for (size_t i = 0; i < p->nvars; i++)
        if (strlen(p->vars[i].name) == len && !memcmp(p->vars[i].name, name, len))
            return (int)i;
    return -1;
}

static trine_status_t pt_add_var(pt_t *c, const char *name, size_t len, prog_var_kind_t kind,
                                 uint32_t line, uint32_t col, int *idx)
{
    prog_t *p = c->prog;
    if (p->nvars == PROG_VARS_MAX)
        return pt_fail(c, TRINE_ELIMIT, line, col, "more than %d variables (temps included)",
                       PROG_VARS_MAX);
    if (p->nvars == c->cap_vars) {
        size_t cap = c->cap_vars ? 2 * c->cap_vars : 16;
        prog_var_t *vars = realloc(p->vars, cap * sizeof *vars);
        if (vars)
            p->vars = vars;
        uint32_t *defined = vars ? realloc(c->defined, cap * sizeof *defined) : NULL;
        if (!defined)
            return pt_fail(c, TRINE_ENOMEM, line, col, "out of memory");
        c->defined = defined;
        c->cap_vars = cap;
    }
    prog_var_t *v = &p->vars[p->nvars];
    memset(v, 0, sizeof *v);
    memcpy(v->name, name, len);
    v->kind = kind;
    c->defined[p->nvars] = line;
    *idx = (int)p->nvars++;
    return TRINE_OK;
}

/* Appends an op writing a new temp; *val becomes that temp, keeping its
 * start position for messages. */
static trine_status_t pt_emit(pt_t *c, prog_opcode_t code, int in0, int in1, uint32_t line,
                              uint32_t col, pt_value_t *val, prog_op_t **op)
{
    prog_t *p = c->prog;
    if (p->nops == PROG_OPS_MAX)
        return pt_fail(c, TRINE_ELIMIT, line, col, "more than %d operations", PROG_OPS_MAX);
    if (p->nops == c->cap_ops) {
        size_t cap = c->cap_ops ? 2 * c->cap_ops : 16;
        prog_op_t *ops = realloc(p->ops, cap * sizeof *ops);
        if (!ops)
            return pt_fail(c, TRINE_ENOMEM, line, col, "out of memory");
        p->ops = ops;
        c->cap_ops = cap;
    }
    char name[PROG_NAME_MAX];
    int len = snprintf(name, sizeof name, "_%u", c->temps + 1);
    int out = -1;
    trine_status_t st = pt_add_var(c, name, (size_t)len, PROG_VAR_TEMP, line, col, &out);
    if (st != TRINE_OK)
        return st;
    c->temps++;
    *op = &p->ops[p->nops++];
    **op = (prog_op_t){.code = code, .out = out, .in = {in0, in1}, .line = line, .col = col};
    *val = (pt_value_t){.kind = PT_V_TENSOR, .var = out, .line = val->line, .col = val->col};
    return TRINE_OK;
}

/* Emits a pending transpose, so that v is a plain tensor. */
static trine_status_t pt_tensor(pt_t *c, pt_value_t *v)
{
    if (v->kind != PT_V_TRANSPOSED)
        return TRINE_OK;
    prog_op_t *op;
    return pt_emit(c, PROG_TRANSPOSE, v->var, -1, v->line, v->col, v, &op);
}

static bool pt_is_tensor(const pt_value_t *v)
{
    return v->kind == PT_V_TENSOR || v->kind == PT_V_TRANSPOSED;
}

static const char *pt_kind_name(const pt_value_t *v)
{
    return v->kind == PT_V_NUMBER ? "a number" : v->kind == PT_V_LIST ? "a list" : "a tensor";
}

static trine_status_t pt_no_list(pt_t *c, const pt_value_t *v)
{
    if (v->kind == PT_V_LIST)
        return pt_fail(c, TRINE_EFORMAT, v->line, v->col,
                       "a list is only allowed as reshape's shape or transpose's perm");
    return TRINE_OK;
}

/* A name the user may give: not a temp's, not a keyword. */
static trine_status_t pt_user_name(pt_t *c, const pt_tok_t *t)
{
    if (t->start[0] == '_')
        return pt_fail(c, TRINE_EFORMAT, t->line, t->col,
                       "'%.*s': names starting with '_' are reserved for the compiler's temps",
                       (int)t->len, t->start);
    if (pt_tok_is(t, "batch") || pt_tok_is(t, "input") || pt_tok_is(t, "output"))
        return pt_fail(c, TRINE_EFORMAT, t->line, t->col,
                       "'%.*s' is a keyword and cannot name a variable", (int)t->len, t->start);
    return TRINE_OK;
}

/* The variable a user name refers to. */
static trine_status_t pt_lookup(pt_t *c, const pt_tok_t *t, int *var)
{
    trine_status_t st = pt_user_name(c, t);
    if (st != TRINE_OK)
        return st;
    *var = pt_find(c->prog, t->start, t->len);
    if (*var < 0)
        return pt_fail(c, TRINE_EFORMAT, t->line, t->col, "unknown tensor '%.*s'", (int)t->len,
                       t->start);
    return TRINE_OK;
}

/* ---- calls ------------------------------------------------------------ */

/* What an attribute is and where it goes in the op. */
typedef enum { PT_A_INT, PT_A_REAL, PT_A_SHAPE, PT_A_PERM } pt_akind_t;

#define PT_ATTRS_MAX 4 /* attributes of one operation */
#define PT_SLOT(i)   (1u << (i))
#define PT_DFLT_FIRST INT64_MIN

typedef struct {
    const char *name; /* NULL: no such attribute */
    pt_akind_t kind;
    unsigned slots; /* PT_A_INT: the iattr slots it fills, PT_SLOT(i) each */
    bool required;
    int64_t dflt; /* when not required; PT_DFLT_FIRST: the first attribute's value */
} pt_attr_t;

/* Slot sets: k and stride fill both axes, pad all four sides. */
#define PT_CONV_STRIDES (PT_SLOT(PROG_CONV_SH) | PT_SLOT(PROG_CONV_SW))
#define PT_CONV_PADS                                                                               \
    (PT_SLOT(PROG_CONV_PT) | PT_SLOT(PROG_CONV_PL) | PT_SLOT(PROG_CONV_PB) | PT_SLOT(PROG_CONV_PR))
#define PT_CONV_RESULT  (PT_SLOT(PROG_CONV_RH) | PT_SLOT(PROG_CONV_RW))
#define PT_POOL_WINDOW  (PT_SLOT(PROG_POOL_KH) | PT_SLOT(PROG_POOL_KW))
#define PT_POOL_STRIDES (PT_SLOT(PROG_POOL_SH) | PT_SLOT(PROG_POOL_SW))
#define PT_POOL_PADS                                                                               \
    (PT_SLOT(PROG_POOL_PT) | PT_SLOT(PROG_POOL_PL) | PT_SLOT(PROG_POOL_PB) | PT_SLOT(PROG_POOL_PR))

static const pt_attr_t pt_attrs[PROG_OPCODE_COUNT][PT_ATTRS_MAX] = {
    [PROG_SCALE] = {{"factor", PT_A_REAL, 0, true, 0}},
    [PROG_CONV2D] = {{"stride", PT_A_INT, PT_CONV_STRIDES, false, 1},
                     {"pad", PT_A_INT, PT_CONV_PADS, false, 0},
                     {"group", PT_A_INT, PT_SLOT(PROG_CONV_GROUP), false, 0}},
    [PROG_CONV2D_GRAD_INPUT] = {{"size", PT_A_INT, PT_CONV_RESULT, true, 0},
                                {"stride", PT_A_INT, PT_CONV_STRIDES, false, 1},
                                {"pad", PT_A_INT, PT_CONV_PADS, false, 0}},
    [PROG_CONV2D_GRAD_WEIGHTS] = {{"k", PT_A_INT, PT_CONV_RESULT, true, 0},
                                  {"stride", PT_A_INT, PT_CONV_STRIDES, false, 1},
                                  {"pad", PT_A_INT, PT_CONV_PADS, false, 0}},
    [PROG_MAXPOOL] = {{"k", PT_A_INT, PT_POOL_WINDOW, true, 0},
                      {"stride", PT_A_INT, PT_POOL_STRIDES, false, PT_DFLT_FIRST},
                      {"pad", PT_A_INT, PT_POOL_PADS, false, 0}},
    [PROG_MAXPOOL_GRAD] = {{"k", PT_A_INT, PT_POOL_WINDOW, true, 0},
                           {"stride", PT_A_INT, PT_POOL_STRIDES, false, PT_DFLT_FIRST}},
    [PROG_AVGPOOL] = {{"k", PT_A_INT, PT_POOL_WINDOW, true, 0},
                      {"stride", PT_A_INT, PT_POOL_STRIDES, false, PT_DFLT_FIRST},
                      {"pad", PT_A_INT, PT_POOL_PADS, false, 0},
                      {"count_include_pad", PT_A_INT, PT_SLOT(PROG_POOL_COUNT_PAD), false, 0}},
    [PROG_RESHAPE] = {{"shape", PT_A_SHAPE, 0, true, 0}},
    [PROG_TRANSPOSE] = {{"perm", PT_A_PERM, 0, false, 0}},
    [PROG_SIGMOID] = {{"fine", PT_A_INT, PT_SLOT(0), false, 0}},
    [PROG_SGD] = {{"lr", PT_A_REAL, 0, true, 0}},
    [PROG_DIV] = {{"int_bits", PT_A_INT, PT_SLOT(0), false, 0}},
    [PROG_CONCAT] = {{"axis", PT_A_INT, PT_SLOT(0), true, 0}},
    [PROG_SLICE] = {{"axis", PT_A_INT, PT_SLOT(PROG_SLICE_AXIS), true, 0},
                    {"start", PT_A_INT, PT_SLOT(PROG_SLICE_START), true, 0},
                    {"count", PT_A_INT, PT_SLOT(PROG_SLICE_COUNT), true, 0},
                    {"step", PT_A_INT, PT_SLOT(PROG_SLICE_STEP), false, 1}},
    [PROG_PAD] = {{"axis", PT_A_INT, PT_SLOT(PROG_PAD_AXIS), true, 0},
                  {"before", PT_A_INT, PT_SLOT(PROG_PAD_BEFORE), false, 0},
                  {"after", PT_A_INT, PT_SLOT(PROG_PAD_AFTER), false, 0},
                  {"value", PT_A_REAL, 0, false, 0}},
    [PROG_OFFSET] = {{"by", PT_A_REAL, 0, true, 0}},
    [PROG_LOG] = {{"lo", PT_A_INT, PT_SLOT(PROG_LOG_LO), false, PROG_LOG_LO_DEFAULT},
                  {"hi", PT_A_INT, PT_SLOT(PROG_LOG_HI), false, PROG_LOG_HI_DEFAULT}},
};

typedef struct {
    const char *key; /* NULL for a positional argument */
    size_t keylen;
    uint32_t line, col; /* of the key */
    pt_value_t val;
} pt_arg_t;

static trine_status_t pt_sum(pt_t *c, pt_value_t *v);

static trine_status_t pt_args(pt_t *c, const char *fn, pt_arg_t *args, int *nargs)
{
    char buf[48];
    trine_status_t st = pt_next(c); /* past '(' */
    *nargs = 0;
    while (st == TRINE_OK && c->tok.type != PT_RPAREN) {
        if (*nargs == PT_ARGS_MAX)
            return pt_fail(c, TRINE_EFORMAT, c->tok.line, c->tok.col,
                           "too many arguments to %s (at most %d)", fn, PT_ARGS_MAX);
        pt_arg_t *a = &args[*nargs];
        *a = (pt_arg_t){.line = c->tok.line, .col = c->tok.col};
        pt_tok_type_t after;
        if (c->tok.type == PT_NAME && (st = pt_peek(c, &after)) == TRINE_OK && after == PT_EQUALS) {
            a->key = c->tok.start;
            a->keylen = c->tok.len;
            if ((st = pt_next(c)) == TRINE_OK)
                st = pt_next(c);
        } else if (st == TRINE_OK && *nargs > 0 && args[*nargs - 1].key) {
            return pt_fail(c, TRINE_EFORMAT, c->tok.line, c->tok.col,
                           "positional argument after a keyword argument");
        }
        if (st == TRINE_OK)
            st = pt_sum(c, &a->val);
        if (st != TRINE_OK)
            return st;
        ++*nargs;
        if (c->tok.type == PT_COMMA)
            st = pt_next(c);
        else if (c->tok.type != PT_RPAREN)
            return pt_fail(c, TRINE_EFORMAT, c->tok.line, c->tok.col,
                           "expected ',' or ')' but found %s",
                           pt_describe(&c->tok, buf, sizeof buf));
    }
    return st == TRINE_OK ? pt_next(c) : st; /* past ')' */
}

/* "k, stride, pad": the names of attrs, for messages. */
static const char *pt_attr_names(const pt_attr_t *attrs, int nattrs, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 0; k < nattrs && len < cap; k++)
        len += (size_t)snprintf(buf + len, cap - len, k ? ", %s" : "%s", attrs[k].name);
    return buf;
}

/* Matches the arguments of fn to its operands (first, positional) and
 * attributes (then positional, or by key); at[i] is attribute i's
 * argument or NULL. */
static trine_status_t pt_bind(pt_t *c, const pt_tok_t *call, const char *fn, int arity,
                              const pt_attr_t attrs[PT_ATTRS_MAX], const pt_arg_t *args, int nargs,
                              const pt_arg_t *at[PT_ATTRS_MAX])
{
    char names[96];
    int nattrs = 0;
    while (nattrs < PT_ATTRS_MAX && attrs[nattrs].name)
        nattrs++;
    int npos = 0;
    while (npos < nargs && !args[npos].key)
        npos++;
    if (npos < arity || (npos > arity && nattrs == 0))
        return pt_fail(c, TRINE_EFORMAT, call->line, call->col, "%s takes %d operand%s, got %d", fn,
                       arity, arity == 1 ? "" : "s", npos);
    if (npos > arity + nattrs)
        return pt_fail(c, TRINE_EFORMAT, call->line, call->col,
                       "%s takes %d operand%s and at most %d attribute%s (%s), got %d arguments",
                       fn, arity, arity == 1 ? "" : "s", nattrs, nattrs == 1 ? "" : "s",
                       pt_attr_names(attrs, nattrs, names, sizeof names), npos);
    for (int i = 0; i < arity; i++)
        if (!pt_is_tensor(&args[i].val))
            return pt_fail(c, TRINE_EFORMAT, args[i].val.line, args[i].val.col,
                           "operand %d of %s must be a tensor, not %s", i + 1, fn,
                           pt_kind_name(&args[i].val));
    for (int k = 0; k < PT_ATTRS_MAX; k++)
        at[k] = NULL;
    for (int i = arity; i < npos; i++)
        at[i - arity] = &args[i];
    for (int i = npos; i < nargs; i++) {
        const pt_arg_t *a = &args[i];
        int k = 0;
        while (k < nattrs &&
               !(strlen(attrs[k].name) == a->keylen && !memcmp(attrs[k].name, a->key, a->keylen)))
            k++;
        if (k == nattrs && nattrs == 0)
            return pt_fail(c, TRINE_EFORMAT, a->line, a->col, "%s takes no attributes", fn);
        if (k == nattrs)
            return pt_fail(c, TRINE_EFORMAT, a->line, a->col,
                           "%s has no attribute '%.*s' (it takes %s)", fn, (int)a->keylen, a->key,
                           pt_attr_names(attrs, nattrs, names, sizeof names));
        if (at[k])
            return pt_fail(c, TRINE_EFORMAT, a->line, a->col, "attribute '%s' of %s is given twice",
                           attrs[k].name, fn);
        at[k] = a;
    }
    for (int k = 0; k < nattrs; k++)
        if (!at[k] && attrs[k].required)
            return pt_fail(c, TRINE_EFORMAT, call->line, call->col, "%s needs its attribute '%s'",
                           fn, attrs[k].name);
    return TRINE_OK;
}

/* Stores a list attribute: a reshape's shape (whose entries past the first
 * are not 0) or a transpose's axes. */
static trine_status_t pt_attr_list(pt_t *c, const char *fn, const pt_attr_t *attr,
                                   const pt_value_t *v, prog_op_t *op)
{
    if (v->kind != PT_V_LIST)
        return pt_fail(c, TRINE_EFORMAT, v->line, v->col,
                       "'%s' of %s must be a list like %s, not %s", attr->name, fn,
                       attr->kind == PT_A_SHAPE ? "[0, 784]" : "[0, 2, 1]", pt_kind_name(v));
    if (attr->kind == PT_A_SHAPE && v->zline) /* flatten() is the way to {0, 0} */
        return pt_fail(c, TRINE_EFORMAT, v->zline, v->zcol,
                       "only the first extent may be 0 (the batch's)");
    op->ndim = v->ndim;
    memcpy(op->shape, v->shape, sizeof op->shape);
    return TRINE_OK;
}

/* Stores attribute argument a into op; a is NULL only for an optional
 * attribute (pt_bind), which takes its default (none for a list). */
static trine_status_t pt_attr(pt_t *c, const char *fn, const pt_attr_t *attr, const pt_arg_t *a,
                              prog_op_t *op)
{
    const pt_value_t *v = a ? &a->val : NULL;
    if (attr->kind == PT_A_SHAPE || attr->kind == PT_A_PERM)
        return v ? pt_attr_list(c, fn, attr, v, op) : TRINE_OK;
    if (v && v->kind != PT_V_NUMBER)
        return pt_fail(c, TRINE_EFORMAT, v->line, v->col, "'%s' of %s must be a number, not %s",
                       attr->name, fn, pt_kind_name(v));
    if (attr->kind == PT_A_REAL) {
        op->fattr = v ? v->num : (double)attr->dflt;
        return TRINE_OK;
    }
    int64_t value = attr->dflt == PT_DFLT_FIRST ? op->iattr[0] : attr->dflt;
    if (v) {
        if (v->num != floor(v->num) || v->num < 0 || v->num > PT_WHOLE_MAX)
            return pt_fail(c, TRINE_EFORMAT, v->line, v->col,
                           "'%s' of %s must be a whole number from 0 to %.0f", attr->name, fn,
                           PT_WHOLE_MAX);
        value = (int64_t)v->num;
    }
    for (int k = 0; k < PROG_IATTR_MAX; k++)
        if (attr->slots & PT_SLOT(k))
            op->iattr[k] = value;
    return TRINE_OK;
}

/* A call, the current token being its '('; *v becomes its result. */
static trine_status_t pt_call(pt_t *c, const pt_tok_t *call, pt_value_t *v)
{
    char fn[PROG_NAME_MAX];
    memcpy(fn, call->start, call->len);
    fn[call->len] = '\0';
    bool flatten = !strcmp(fn, "flatten");
    int code = !strcmp(fn, "t") ? PROG_TRANSPOSE : flatten ? PROG_RESHAPE : prog_opcode_find(fn);
    if (code < 0)
        return pt_fail(c, TRINE_EFORMAT, call->line, call->col, "unknown operation '%s'", fn);

    pt_arg_t args[PT_ARGS_MAX];
    int nargs;
    trine_status_t st = pt_args(c, fn, args, &nargs);
    if (st != TRINE_OK)
        return st;
    /* t() and flatten() are shorthands without attributes */
    static const pt_attr_t none[PT_ATTRS_MAX];
    const pt_attr_t *attrs = flatten || !strcmp(fn, "t") ? none : pt_attrs[code];
    const pt_arg_t *at[PT_ATTRS_MAX];
    int arity = flatten ? 1 : prog_opcode_arity((prog_opcode_t)code);
    if ((st = pt_bind(c, call, fn, arity, attrs, args, nargs, at)) != TRINE_OK)
        return st;

    pt_value_t a = args[0].val, b = arity > 1 ? args[1].val : (pt_value_t){.var = -1};
    v->line = call->line;
    v->col = call->col;
    if (code == PROG_TRANSPOSE && !at[0]) { /* the 2-D swap, pending: the consumer decides */
        v->kind = a.kind == PT_V_TRANSPOSED ? PT_V_TENSOR : PT_V_TRANSPOSED;
        v->var = a.var;
        return TRINE_OK;
    }
    if (code != PROG_MATMUL) {
        if ((st = pt_tensor(c, &a)) != TRINE_OK || (st = pt_tensor(c, &b)) != TRINE_OK)
            return st;
    }
    prog_op_t *op;
    if ((st = pt_emit(c, (prog_opcode_t)code, a.var, b.var, call->line, call->col, v, &op)) !=
        TRINE_OK)
        return st;
    if (code == PROG_MATMUL) {
        op->iattr[0] = a.kind == PT_V_TRANSPOSED;
        op->iattr[1] = b.kind == PT_V_TRANSPOSED;
    }
    if (flatten)
        op->ndim = 2; /* shape {0, 0}: see PROG_RESHAPE */
    for (int k = 0; k < PT_ATTRS_MAX && st == TRINE_OK; k++)
        if (attrs[k].name)
            st = pt_attr(c, fn, &attrs[k], at[k], op);
    return st;
}

/* ---- expressions ------------------------------------------------------ */

/* [n, ...]: a reshape's shape or a transpose's axes. */
static trine_status_t pt_list(pt_t *c, pt_value_t *v)
{
    char buf[48];
    *v = (pt_value_t){.kind = PT_V_LIST, .line = c->tok.line, .col = c->tok.col};
    trine_status_t st = pt_next(c); /* past '[' */
    if (st == TRINE_OK && c->tok.type == PT_RBRACKET)
        return pt_fail(c, TRINE_EFORMAT, v->line, v->col, "a shape needs at least one extent");
    while (st == TRINE_OK) {
        pt_value_t e;
        if ((st = pt_sum(c, &e)) != TRINE_OK)
            return st;
        if (v->ndim == TENSOR_MAX_DIMS)
            return pt_fail(c, TRINE_EFORMAT, e.line, e.col, "a shape has at most %d extents",
                           TENSOR_MAX_DIMS);
        if (e.kind != PT_V_NUMBER || e.num != floor(e.num) || e.num < 0 || e.num > PT_WHOLE_MAX)
            return pt_fail(c, TRINE_EFORMAT, e.line, e.col,
                           "an extent must be a whole number from 0 to %.0f", PT_WHOLE_MAX);
        if (e.num == 0 && v->ndim > 0 && !v->zline) /* a reshape refuses it: pt_attr_list */
            v->zline = e.line, v->zcol = e.col;
        v->shape[v->ndim++] = (size_t)e.num;
        if (c->tok.type == PT_RBRACKET)
            return pt_next(c);
        if (c->tok.type != PT_COMMA)
            return pt_fail(c, TRINE_EFORMAT, c->tok.line, c->tok.col,
                           "expected ',' or ']' but found %s",
                           pt_describe(&c->tok, buf, sizeof buf));
        st = pt_next(c);
    }
    return st;
}

static trine_status_t pt_primary(pt_t *c, pt_value_t *v)
{
    char buf[48];
    pt_tok_t t = c->tok;
    *v = (pt_value_t){.line = t.line, .col = t.col};
    trine_status_t st;
    switch (t.type) {
    case PT_NUMBER: {
        v->kind = PT_V_NUMBER;
        v->num = t.num;
        if ((st = pt_next(c)) != TRINE_OK || c->tok.type != PT_CARET)
            return st;
        if ((st = pt_next(c)) != TRINE_OK)
            return st;
        bool neg = c->tok.type == PT_MINUS;
        if (neg && (st = pt_next(c)) != TRINE_OK)
            return st;
        if (c->tok.type != PT_NUMBER)
            return pt_fail(c, TRINE_EFORMAT, c->tok.line, c->tok.col,
                           "expected a number after '^' but found %s",
                           pt_describe(&c->tok, buf, sizeof buf));
        v->num = pow(v->num, neg ? -c->tok.num : c->tok.num);
        if (!isfinite(v->num))
            return pt_fail(c, TRINE_EFORMAT, t.line, t.col, "the power is out of range");
        return pt_next(c);
    }
    case PT_NAME:
        if ((st = pt_next(c)) != TRINE_OK)
            return st;
        if (c->tok.type == PT_LPAREN)
            return pt_call(c, &t, v);
        v->kind = PT_V_TENSOR;
        return pt_lookup(c, &t, &v->var);
    case PT_LPAREN:
        if ((st = pt_next(c)) != TRINE_OK || (st = pt_sum(c, v)) != TRINE_OK)
            return st;
        return pt_expect(c, PT_RPAREN, "')'");
    case PT_LBRACKET: return pt_list(c, v);
    default:
        return pt_fail(c, TRINE_EFORMAT, t.line, t.col,
                       "expected a tensor, a number or '(' but found %s",
                       pt_describe(&t, buf, sizeof buf));
    }
}

/* Every nesting passes here, so the depth limit bounds the recursion. */
static trine_status_t pt_unary(pt_t *c, pt_value_t *v)
{
    if (c->depth == PT_DEPTH_MAX)
        return pt_fail(c, TRINE_EFORMAT, c->tok.line, c->tok.col,
                       "expression nested more than %d deep", PT_DEPTH_MAX);
    c->depth++;
    trine_status_t st;
    pt_tok_t minus = c->tok;
    if (minus.type != PT_MINUS) {
        st = pt_primary(c, v);
    } else if ((st = pt_next(c)) == TRINE_OK && (st = pt_unary(c, v)) == TRINE_OK &&
               (st = pt_no_list(c, v)) == TRINE_OK) {
        if (v->kind == PT_V_NUMBER) {
            v->num = -v->num;
        } else if ((st = pt_tensor(c, v)) == TRINE_OK) {
            prog_op_t *op;
            st = pt_emit(c, PROG_SCALE, v->var, -1, minus.line, minus.col, v, &op);
            if (st == TRINE_OK)
                op->fattr = -1;
        }
        v->line = minus.line;
        v->col = minus.col;
    }
    c->depth--;
    return st;
}

/* Numbers fold; a tensor * number scales; l becomes the result. */
static trine_status_t pt_binary(pt_t *c, const pt_tok_t *op, pt_value_t *l, pt_value_t *r)
{
    static const char *verbs[] = {
        [PT_PLUS] = "add", [PT_MINUS] = "subtract", [PT_STAR] = "multiply"};
    trine_status_t st = pt_no_list(c, l);
    if (st == TRINE_OK)
        st = pt_no_list(c, r);
    if (st != TRINE_OK)
        return st;
    if (l->kind == PT_V_NUMBER && r->kind == PT_V_NUMBER) {
        l->num = op->type == PT_PLUS    ? l->num + r->num
                 : op->type == PT_MINUS ? l->num - r->num
                                        : l->num * r->num;
        if (!isfinite(l->num))
            return pt_fail(c, TRINE_EFORMAT, op->line, op->col, "the number is out of range");
        return TRINE_OK;
    }
    prog_op_t *o;
    pt_value_t start = *l;
    if (op->type == PT_STAR && (l->kind == PT_V_NUMBER || r->kind == PT_V_NUMBER)) {
        pt_value_t *t = l->kind == PT_V_NUMBER ? r : l;
        double factor = l->kind == PT_V_NUMBER ? l->num : r->num;
        if ((st = pt_tensor(c, t)) != TRINE_OK ||
            (st = pt_emit(c, PROG_SCALE, t->var, -1, op->line, op->col, l, &o)) != TRINE_OK)
            return st;
        o->fattr = factor;
    } else if (l->kind == PT_V_NUMBER || r->kind == PT_V_NUMBER) {
        return pt_fail(c, TRINE_EFORMAT, op->line, op->col, "cannot %s a tensor and a number",
                       verbs[op->type]);
    } else {
        prog_opcode_t code = op->type == PT_PLUS    ? PROG_ADD
                             : op->type == PT_MINUS ? PROG_SUB
                                                    : PROG_MUL;
        if ((st = pt_tensor(c, l)) != TRINE_OK || (st = pt_tensor(c, r)) != TRINE_OK ||
            (st = pt_emit(c, code, l->var, r->var, op->line, op->col, l, &o)) != TRINE_OK)
            return st;
    }
    l->line = start.line;
    l->col = start.col;
    return TRINE_OK;
}

static trine_status_t pt_product(pt_t *c, pt_value_t *v)
{
    trine_status_t st = pt_unary(c, v);
    while (st == TRINE_OK && c->tok.type == PT_STAR) {
        pt_tok_t op = c->tok;
        pt_value_t r;
        if ((st = pt_next(c)) == TRINE_OK && (st = pt_unary(c, &r)) == TRINE_OK)
            st = pt_binary(c, &op, v, &r);
    }
    return st;
}

static trine_status_t pt_sum(pt_t *c, pt_value_t *v)
{
    trine_status_t st = pt_product(c, v);
    while (st == TRINE_OK && (c->tok.type == PT_PLUS || c->tok.type == PT_MINUS)) {
        pt_tok_t op = c->tok;
        pt_value_t r;
        if ((st = pt_next(c)) == TRINE_OK && (st = pt_product(c, &r)) == TRINE_OK)
            st = pt_binary(c, &op, v, &r);
    }
    return st;
}

/* ---- statements ------------------------------------------------------- */

/* `batch NAME...` or `input NAME...`, the current token being the keyword. */
static trine_status_t pt_declare(pt_t *c, prog_var_kind_t kind)
{
    char buf[48];
    pt_tok_t keyword = c->tok;
    trine_status_t st = pt_next(c);
    if (st == TRINE_OK && c->tok.type != PT_NAME)
        return pt_fail(c, TRINE_EFORMAT, c->tok.line, c->tok.col,
                       "expected a name after '%.*s' but found %s", (int)keyword.len, keyword.start,
                       pt_describe(&c->tok, buf, sizeof buf));
    while (st == TRINE_OK && c->tok.type == PT_NAME) {
        const pt_tok_t *t = &c->tok;
        if ((st = pt_user_name(c, t)) != TRINE_OK)
            return st;
        int var = pt_find(c->prog, t->start, t->len);
        if (var >= 0)
            return pt_fail(c, TRINE_EFORMAT, t->line, t->col, "'%.*s' is already %s at line %u",
                           (int)t->len, t->start,
                           c->prog->vars[var].kind == PROG_VAR_TEMP ? "defined" : "declared",
                           (unsigned)c->defined[var]);
        if ((st = pt_add_var(c, t->start, t->len, kind, t->line, t->col, &var)) == TRINE_OK)
            st = pt_next(c);
    }
    return st;
}

/* `output NAME...`, the current token being the first name. */
static trine_status_t pt_mark_outputs(pt_t *c)
{
    trine_status_t st = TRINE_OK;
    while (st == TRINE_OK && c->tok.type == PT_NAME) {
        int var = -1;
        if ((st = pt_lookup(c, &c->tok, &var)) == TRINE_OK) {
            c->prog->vars[var].output = true;
            st = pt_next(c);
        }
    }
    return st;
}

/* `NAME = EXPR`, the current token being NAME. */
static trine_status_t pt_assign(pt_t *c, bool output)
{
    pt_tok_t t = c->tok;
    prog_t *p = c->prog;
    trine_status_t st = pt_user_name(c, &t);
    if (st != TRINE_OK)
        return st;
    int target = pt_find(p, t.start, t.len);
    if (target >= 0 && p->vars[target].kind == PROG_VAR_BATCH)
        return pt_fail(c, TRINE_EFORMAT, t.line, t.col,
                       "'%.*s' is a batch input and cannot be assigned", (int)t.len, t.start);
    if (target >= 0 && p->vars[target].kind == PROG_VAR_TEMP)
        return pt_fail(c, TRINE_EFORMAT, t.line, t.col, "'%.*s' is already defined at line %u",
                       (int)t.len, t.start, (unsigned)c->defined[target]);
    c->stmt_ops = p->nops;
    c->stmt_vars = p->nvars;
    pt_value_t v;
    if ((st = pt_next(c)) != TRINE_OK || (st = pt_next(c)) != TRINE_OK || /* NAME '=' */
        (st = pt_sum(c, &v)) != TRINE_OK || (st = pt_tensor(c, &v)) != TRINE_OK)
        return st;
    if (v.kind != PT_V_TENSOR)
        return pt_fail(c, TRINE_EFORMAT, v.line, v.col, "'%.*s' must be assigned a tensor, not %s",
                       (int)t.len, t.start, pt_kind_name(&v));
    /* The value must be the temp this statement's last op wrote; a bare
     * name would be a copy, which no op does. */
    if (p->nops == c->stmt_ops || p->ops[p->nops - 1].out != v.var ||
        (size_t)v.var != p->nvars - 1 || (size_t)v.var < c->stmt_vars)
        return pt_fail(c, TRINE_EFORMAT, v.line, v.col,
                       "'%.*s = %s' would only copy a tensor: an assignment needs an operation",
                       (int)t.len, t.start, p->vars[v.var].name);
    p->nvars--;
    c->temps--;
    if (target < 0 &&
        (st = pt_add_var(c, t.start, t.len, PROG_VAR_TEMP, t.line, t.col, &target)) != TRINE_OK)
        return st;
    p->ops[p->nops - 1].out = target;
    if (output)
        p->vars[target].output = true;
    return TRINE_OK;
}

static trine_status_t pt_statement(pt_t *c)
{
    char buf[48];
    pt_tok_t first = c->tok;
    if (first.type != PT_NAME)
        return pt_fail(c, TRINE_EFORMAT, first.line, first.col,
                       "expected a statement (batch, input, output or NAME = ...) but found %s",
                       pt_describe(&first, buf, sizeof buf));
    trine_status_t st;
    pt_tok_type_t after;
    if (pt_tok_is(&first, "batch"))
        st = pt_declare(c, PROG_VAR_BATCH);
    else if (pt_tok_is(&first, "input"))
        st = pt_declare(c, PROG_VAR_INPUT);
    else if (pt_tok_is(&first, "output")) {
        if ((st = pt_next(c)) != TRINE_OK)
            return st;
        if (c->tok.type != PT_NAME)
            return pt_fail(c, TRINE_EFORMAT, c->tok.line, c->tok.col,
                           "expected a name after 'output' but found %s",
                           pt_describe(&c->tok, buf, sizeof buf));
        if ((st = pt_peek(c, &after)) == TRINE_OK)
            st = after == PT_EQUALS ? pt_assign(c, true) : pt_mark_outputs(c);
    } else if ((st = pt_peek(c, &after)) == TRINE_OK) {
        if (after != PT_EQUALS) {
            pt_lexer_t lx = c->lx;
            pt_tok_t next;
            if ((st = pt_lex(c, &lx, &next)) != TRINE_OK)
                return st;
            return pt_fail(c, TRINE_EFORMAT, next.line, next.col,
                           "expected '=' after '%.*s' but found %s (a statement is batch, "
                           "input, output or NAME = ...)",
                           (int)first.len, first.start, pt_describe(&next, buf, sizeof buf));
        }
        st = pt_assign(c, false);
    }
    if (st == TRINE_OK && c->tok.type != PT_NEWLINE && c->tok.type != PT_EOF)
        return pt_fail(c, TRINE_EFORMAT, c->tok.line, c->tok.col,
                       "expected the end of the line but found %s",
                       pt_describe(&c->tok, buf, sizeof buf));
    return st;
}

trine_status_t prog_text_compile(prog_t *out, const char *text, size_t len, const char *filename,
                                 trine_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (!text) {
        text = "";
        len = 0;
    }
    pt_t c = {.prog = out,
              .file = filename ? filename : "program",
              .err = err,
              .lx = {text, text + len, 1, 1}};
    trine_status_t st = pt_next(&c);
    while (st == TRINE_OK && c.tok.type != PT_EOF)
        st = c.tok.type == PT_NEWLINE ? pt_next(&c) : pt_statement(&c);
    free(c.defined);
    if (st != TRINE_OK)
        prog_clear(out);
    return st;
}

trine_status_t prog_text_set_shape(prog_t *p, const char *name, int ndim, const size_t *shape,
                                   trine_err_t *err)
{
    int var = pt_find(p, name, strlen(name));
    if (var < 0)
        return trine_err_set(err, TRINE_ENOENT, "the program has no input '%s'", name);
    prog_var_t *v = &p->vars[var];
    if (v->kind == PROG_VAR_TEMP)
        return trine_err_set(err, TRINE_EINVAL, "'%s' is computed by the program, not an input",
                             name);
    if (ndim < 1 || ndim > TENSOR_MAX_DIMS)
        return trine_err_set(err, TRINE_ESHAPE, "input '%s' must have 1 to %d dimensions, not %d",
                             name, TENSOR_MAX_DIMS, ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0)
            return trine_err_set(err, TRINE_ESHAPE, "input '%s' has a zero extent", name);
    v->ndim = ndim;
    memset(v->shape, 0, sizeof v->shape);
    memcpy(v->shape, shape, (size_t)ndim * sizeof *shape);
    return TRINE_OK;
}
