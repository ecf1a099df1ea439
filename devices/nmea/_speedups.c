/* Optional C accelerator for the NMEA decoder's hot path.
 *
 * parse_body(body, require_checksum) is devices.nmea.sentences.parse_body in C: checksum,
 * field splitting and the decoding of RMC, GGA, GSA, VTG, ZDA, GLL, GNS and PGID. It must give
 * exactly what the Python reference gives for any bytes (tests/devices hold it to that with
 * hypothesis). To make that true by construction, numbers in the plain "[+-]digits[.digits]"
 * form are converted here with CPython's own correctly rounded routines, and anything else is
 * handed to float() / int() like the Python code does.
 *
 * make_fix(...) builds a devices.records.Fix by filling its slots directly: the frozen
 * dataclass __init__ spends about 1 us per record in object.__setattr__ calls.
 *
 * split_parse(buf, max_line, require_checksum, discarding) is the framing of
 * NmeaStream.feed in one call: the lines of buf (CR, LF or CRLF ends), each one's sentences
 * (after every '$') parsed as parse_body does, in order, as parsed tuples or refusals
 * (OVERLONG for a line past max_line, NO_SENTENCE for a line with no '$' and more than
 * spaces); it returns (items, the unterminated tail, still discarding). The merging of
 * sentences into epochs stays in Python (devices/nmea/stream.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <datetime.h>
#include <math.h>
#include <string.h>

#define MAX_FIELDS 20 /* the decoders read fields 0..16 and the total count */
#define NUM_BUF 64
#define FIX_FIELDS 12 /* the record's slots; the last, status, is always None for NMEA */
#define FIX_ARGS 11
#define MAX_SATS 255
#define MAX_QUALITY 9
#define MAX_TERMINAL_ID 64
#define CENTURY_PIVOT 69

static PyObject *fix_type = NULL;
static Py_ssize_t fix_offsets[FIX_FIELDS];
static PyObject *reject_bad_checksum = NULL;
static PyObject *reject_malformed = NULL;
static PyObject *reject_overlong = NULL;
static PyObject *reject_no_sentence = NULL;
static PyObject *s_rmc, *s_gga, *s_gsa, *s_vtg, *s_zda, *s_gll, *s_gns, *s_pgid;

typedef struct {
    const char *p;
    Py_ssize_t n;
} field_t;

/* Result of a field parser: OK, MALFORMED (the Python code raises ValueError, IndexError or
 * OverflowError) or ERROR (a Python exception is set and must propagate). */
enum { OK = 0, BAD = -1, ERROR = -2 };

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alnum(char c) {
    return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}
/* bytes.strip() / rstrip() without arguments: ASCII whitespace */
static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\x0b' || c == '\x0c';
}
static int all_digits(const char *p, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++)
        if (!is_digit(p[i])) return 0;
    return n > 0;
}

/* A ValueError/OverflowError from float()/int() means "malformed"; anything else propagates. */
static int python_failed(void) {
    if (PyErr_ExceptionMatches(PyExc_ValueError) || PyErr_ExceptionMatches(PyExc_OverflowError)) {
        PyErr_Clear();
        return BAD;
    }
    return ERROR;
}

/* "[+-]digits[.digits]" with at least one digit: the form CPython's strtod reads exactly
 * as float() does */
static int plain_number(const char *p, Py_ssize_t n) {
    Py_ssize_t i = 0, digits = 0;
    if (i < n && (p[i] == '+' || p[i] == '-')) i++;
    while (i < n && is_digit(p[i])) { i++; digits++; }
    if (i < n && p[i] == '.') {
        i++;
        while (i < n && is_digit(p[i])) { i++; digits++; }
    }
    return i == n && digits > 0;
}

/* float(field) */
static int parse_double(const char *p, Py_ssize_t n, double *out) {
    if (n == 0) return BAD;
    if (n < NUM_BUF && plain_number(p, n)) {
        char buf[NUM_BUF];
        char *end;
        memcpy(buf, p, n);
        buf[n] = '\0';
        double value = PyOS_string_to_double(buf, &end, NULL);
        if (value == -1.0 && PyErr_Occurred()) return python_failed();
        if (end != buf + n) return BAD;
        *out = value;
        return OK;
    }
    PyObject *raw = PyBytes_FromStringAndSize(p, n);
    if (raw == NULL) return ERROR;
    PyObject *number = PyFloat_FromString(raw);
    Py_DECREF(raw);
    if (number == NULL) return python_failed();
    *out = PyFloat_AS_DOUBLE(number);
    Py_DECREF(number);
    return OK;
}

/* int(field); values that do not fit a C long are out of every range used here */
static int parse_long(const char *p, Py_ssize_t n, long *out) {
    if (n == 0) return BAD;
    if (n <= 18 && all_digits(p, n)) {
        long value = 0;
        for (Py_ssize_t i = 0; i < n; i++) value = value * 10 + (p[i] - '0');
        *out = value;
        return OK;
    }
    PyObject *raw = PyBytes_FromStringAndSize(p, n);
    if (raw == NULL) return ERROR;
    PyObject *number = PyNumber_Long(raw);
    Py_DECREF(raw);
    if (number == NULL) return python_failed();
    int overflow = 0;
    long value = PyLong_AsLongAndOverflow(number, &overflow);
    Py_DECREF(number);
    if (overflow) return BAD;
    if (value == -1 && PyErr_Occurred()) return ERROR;
    *out = value;
    return OK;
}

/* fields.opt_float: None when empty, else a finite float */
static int opt_float(field_t f, PyObject **out) {
    if (f.n == 0) { *out = Py_NewRef(Py_None); return OK; }
    double value;
    int rc = parse_double(f.p, f.n, &value);
    if (rc != OK) return rc;
    if (!isfinite(value)) return BAD;
    *out = PyFloat_FromDouble(value);
    return *out ? OK : ERROR;
}

/* fields.opt_int: None when empty, else 0..limit */
static int opt_int(field_t f, long limit, PyObject **out) {
    if (f.n == 0) { *out = Py_NewRef(Py_None); return OK; }
    long value;
    int rc = parse_long(f.p, f.n, &value);
    if (rc != OK) return rc;
    if (value < 0 || value > limit) return BAD;
    *out = PyLong_FromLong(value);
    return *out ? OK : ERROR;
}

/* fields.parse_time: "hhmmss[.s...]" to milliseconds of the day */
static int parse_time(field_t f, long *ms) {
    const char *p = f.p;
    Py_ssize_t n = f.n;
    if (n < 6 || !all_digits(p, 6)) return BAD;
    if (n > 6 && (p[6] != '.' || (n > 7 && !all_digits(p + 7, n - 7)))) return BAD;
    long hours = (p[0] - '0') * 10 + (p[1] - '0');
    long minutes = (p[2] - '0') * 10 + (p[3] - '0');
    double seconds;
    int rc = parse_double(p + 4, n - 4, &seconds);
    if (rc != OK) return rc;
    if (hours > 23 || minutes > 59 || !(seconds < 61.0)) return BAD;
    /* round() of a float in Python rounds half to even, as nearbyint does by default */
    *ms = (hours * 60 + minutes) * 60000 + (long)nearbyint(seconds * 1000.0);
    return OK;
}

static int opt_time(field_t f, PyObject **out) {
    if (f.n == 0) { *out = Py_NewRef(Py_None); return OK; }
    long ms;
    int rc = parse_time(f, &ms);
    if (rc != OK) return rc;
    *out = PyLong_FromLong(ms);
    return *out ? OK : ERROR;
}

/* Python's round(x, 8) for 0 <= x <= 180. Scaling by 1e8 is exact to about 2e-6 here, so
 * unless x*1e8 is near a tie its nearest integer is the decimal rounding of x, and dividing
 * that integer (< 2**53) by 1e8 is correctly rounded, as is CPython's decimal round trip.
 * Near a tie, take CPython's own decimal route. */
static int round8(double x, double *out) {
    double scaled = x * 1e8;
    double nearest = nearbyint(scaled);
    if (fabs(fabs(scaled - nearest) - 0.5) > 1e-4) {
        *out = nearest / 1e8;
        return OK;
    }
    char *text = PyOS_double_to_string(x, 'f', 8, 0, NULL);
    if (text == NULL) return ERROR;
    double value = PyOS_string_to_double(text, NULL, NULL);
    PyMem_Free(text);
    if (value == -1.0 && PyErr_Occurred()) return ERROR;
    *out = value;
    return OK;
}

/* fields.parse_coord */
static int parse_coord(field_t value, field_t hemisphere, long limit, PyObject **out) {
    double number;
    int rc = parse_double(value.p, value.n, &number);
    if (rc != OK) return rc;
    double hundreds = number / 100.0;
    /* int(number / 100) in Python: huge, infinite or nan values all end as malformed */
    if (!(fabs(hundreds) < 1e6)) return BAD;
    long degrees = (long)hundreds;
    double minutes = number - (double)(degrees * 100);
    if (!(minutes >= 0.0 && minutes < 60.0) || degrees < 0 || degrees > limit) return BAD;
    double result;
    rc = round8((double)degrees + minutes / 60.0, &result);
    if (rc != OK) return rc;
    if (result > (double)limit) return BAD;
    if (hemisphere.n != 1) return BAD;
    char h = hemisphere.p[0];
    if (h == 'S' || h == 'W') result = -result;
    else if (h != 'N' && h != 'E') return BAD;
    *out = PyFloat_FromDouble(result);
    return *out ? OK : ERROR;
}

static int opt_coord(field_t value, field_t hemisphere, long limit, PyObject **out) {
    if (value.n == 0) { *out = Py_NewRef(Py_None); return OK; }
    return parse_coord(value, hemisphere, limit, out);
}

/* date(year, month, day).toordinal(), or BAD for a date that does not exist */
static int ymd_ordinal(long year, long month, long day, long *out) {
    static const int days_in_month[] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    static const int days_before[] = {0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    if (year < 1 || year > 9999 || month < 1 || month > 12) return BAD;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    long dim = days_in_month[month] + (month == 2 && leap);
    if (day < 1 || day > dim) return BAD;
    long y = year - 1;
    *out = y * 365 + y / 4 - y / 100 + y / 400 + days_before[month] + (month > 2 && leap) + day;
    return OK;
}

/* fields.ddmmyy */
static int opt_ddmmyy(field_t f, PyObject **out) {
    if (f.n == 0 || (f.n == 6 && memcmp(f.p, "000000", 6) == 0)) {
        *out = Py_NewRef(Py_None);
        return OK;
    }
    if (f.n != 6 || !all_digits(f.p, 6)) return BAD;
    long day = (f.p[0] - '0') * 10 + (f.p[1] - '0');
    long month = (f.p[2] - '0') * 10 + (f.p[3] - '0');
    long year = (f.p[4] - '0') * 10 + (f.p[5] - '0');
    year += year >= CENTURY_PIVOT ? 1900 : 2000;
    long ordinal;
    int rc = ymd_ordinal(year, month, day, &ordinal);
    if (rc != OK) return rc;
    *out = PyLong_FromLong(ordinal);
    return *out ? OK : ERROR;
}

static int field_is(field_t f, char c) { return f.n == 1 && f.p[0] == c; }

/* Build a tuple from n new references (any NULL: release the others and fail). */
static PyObject *pack(Py_ssize_t n, PyObject **items) {
    PyObject *tuple = PyTuple_New(n);
    if (tuple == NULL) {
        for (Py_ssize_t i = 0; i < n; i++) Py_XDECREF(items[i]);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) PyTuple_SET_ITEM(tuple, i, items[i]);
    return tuple;
}

static void release(Py_ssize_t n, PyObject **items) {
    for (Py_ssize_t i = 0; i < n; i++) Py_CLEAR(items[i]);
}

/* Runs the field parsers in order; on failure releases what was made and returns rc. */
#define STEP(call)                 \
    do {                           \
        rc = (call);               \
        if (rc != OK) goto failed; \
    } while (0)

static int decode_rmc(field_t *f, Py_ssize_t nf, PyObject **items) {
    int rc = OK;
    if (nf < 10) return BAD;
    int valid;
    if (field_is(f[2], 'A')) {
        valid = 1;
        if (nf > 12 && f[12].n > 0)
            valid = f[12].n == 1 && strchr("ADEFMPRS", f[12].p[0]) != NULL && f[12].p[0] != 0;
    } else if (field_is(f[2], 'V')) {
        valid = 0;
    } else {
        return BAD;
    }
    items[0] = Py_NewRef(s_rmc);
    STEP(opt_time(f[1], &items[1]));
    items[2] = PyBool_FromLong(valid);
    STEP(opt_coord(f[3], f[4], 90, &items[3]));
    STEP(opt_coord(f[5], f[6], 180, &items[4]));
    STEP(opt_float(f[7], &items[5]));
    STEP(opt_float(f[8], &items[6]));
    STEP(opt_ddmmyy(f[9], &items[7]));
    return OK;
failed:
    release(8, items);
    return rc;
}

static int decode_gga(field_t *f, Py_ssize_t nf, PyObject **items) {
    int rc = OK;
    if (nf < 9) return BAD;
    long quality = 0;
    if (f[6].n) {
        STEP(parse_long(f[6].p, f[6].n, &quality));
        if (quality < 0 || quality > MAX_QUALITY) return BAD;
    }
    items[0] = Py_NewRef(s_gga);
    STEP(opt_time(f[1], &items[1]));
    items[2] = PyLong_FromLong(quality);
    if (items[2] == NULL) { rc = ERROR; goto failed; }
    STEP(opt_coord(f[2], f[3], 90, &items[3]));
    STEP(opt_coord(f[4], f[5], 180, &items[4]));
    STEP(opt_int(f[7], MAX_SATS, &items[5]));
    STEP(opt_float(f[8], &items[6]));
    if (nf > 9) STEP(opt_float(f[9], &items[7]));
    else items[7] = Py_NewRef(Py_None);
    return OK;
failed:
    release(8, items);
    return rc;
}

static int decode_gsa(field_t *f, Py_ssize_t nf, PyObject **items) {
    int rc = OK;
    if (nf < 3) return BAD;
    long mode;
    STEP(parse_long(f[2].p, f[2].n, &mode));
    if (mode < 1 || mode > 3) return BAD;
    items[0] = Py_NewRef(s_gsa);
    items[1] = PyLong_FromLong(mode);
    if (items[1] == NULL) { rc = ERROR; goto failed; }
    if (nf > 16) STEP(opt_float(f[16], &items[2]));
    else items[2] = Py_NewRef(Py_None);
    return OK;
failed:
    release(3, items);
    return rc;
}

static int decode_vtg(field_t *f, Py_ssize_t nf, PyObject **items) {
    int rc = OK;
    int modern = nf > 2 && field_is(f[2], 'T');
    if (nf < (modern ? 6 : 4)) return BAD;
    items[0] = Py_NewRef(s_vtg);
    STEP(opt_float(f[1], &items[1]));
    STEP(opt_float(f[modern ? 5 : 3], &items[2]));
    return OK;
failed:
    release(3, items);
    return rc;
}

static int decode_zda(field_t *f, Py_ssize_t nf, PyObject **items) {
    int rc = OK;
    if (nf < 5) return BAD;
    PyObject *day_obj = NULL;
    if (f[2].n || f[3].n || f[4].n) {
        long year, month, day, ordinal;
        STEP(parse_long(f[4].p, f[4].n, &year));
        STEP(parse_long(f[3].p, f[3].n, &month));
        STEP(parse_long(f[2].p, f[2].n, &day));
        STEP(ymd_ordinal(year, month, day, &ordinal));
        day_obj = PyLong_FromLong(ordinal);
        if (day_obj == NULL) return ERROR;
    } else {
        day_obj = Py_NewRef(Py_None);
    }
    items[0] = Py_NewRef(s_zda);
    items[2] = day_obj;
    STEP(opt_time(f[1], &items[1]));
    return OK;
failed:
    release(3, items);
    return rc;
}

static int decode_gll(field_t *f, Py_ssize_t nf, PyObject **items) {
    int rc = OK;
    items[0] = Py_NewRef(s_gll);
    if (nf < 7 || f[5].n == 0) {
        items[1] = Py_NewRef(Py_None);
        items[2] = Py_NewRef(Py_False);
        items[3] = Py_NewRef(Py_None);
        items[4] = Py_NewRef(Py_None);
        return OK;
    }
    STEP(opt_time(f[5], &items[1]));
    STEP(opt_coord(f[1], f[2], 90, &items[3]));
    STEP(opt_coord(f[3], f[4], 180, &items[4]));
    items[2] = PyBool_FromLong(field_is(f[6], 'A'));
    return OK;
failed:
    release(5, items);
    return rc;
}

static int decode_gns(field_t *f, Py_ssize_t nf, PyObject **items) {
    int rc = OK;
    if (nf < 9) return BAD;
    int valid = 0;
    for (Py_ssize_t i = 0; i < f[6].n; i++)
        if (f[6].p[i] != 'N') valid = 1;
    items[0] = Py_NewRef(s_gns);
    STEP(opt_time(f[1], &items[1]));
    items[2] = PyBool_FromLong(valid);
    STEP(opt_coord(f[2], f[3], 90, &items[3]));
    STEP(opt_coord(f[4], f[5], 180, &items[4]));
    STEP(opt_int(f[7], MAX_SATS, &items[5]));
    STEP(opt_float(f[8], &items[6]));
    if (nf > 9) STEP(opt_float(f[9], &items[7]));
    else items[7] = Py_NewRef(Py_None);
    return OK;
failed:
    release(8, items);
    return rc;
}

static int decode_pgid(field_t *f, Py_ssize_t nf, PyObject **items) {
    if (nf < 2) return BAD;
    const char *p = f[1].p;
    Py_ssize_t n = f[1].n;
    while (n > 0 && is_space(p[0])) { p++; n--; }
    while (n > 0 && is_space(p[n - 1])) n--;
    if (n < 1 || n > MAX_TERMINAL_ID) return BAD;
    for (Py_ssize_t i = 0; i < n; i++)
        if (!is_alnum(p[i])) return BAD;
    items[0] = Py_NewRef(s_pgid);
    items[1] = PyUnicode_DecodeASCII(p, n, NULL);
    if (items[1] == NULL) { Py_CLEAR(items[0]); return ERROR; }
    return OK;
}

typedef int (*decoder_t)(field_t *, Py_ssize_t, PyObject **);

static PyObject *parse_raw(const char *body, Py_ssize_t n, int require);

static PyObject *parse_body(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs < 1 || nargs > 2 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "parse_body(body: bytes, require_checksum=False)");
        return NULL;
    }
    int require = 0;
    if (nargs == 2) {
        require = PyObject_IsTrue(args[1]);
        if (require < 0) return NULL;
    }
    return parse_raw(PyBytes_AS_STRING(args[0]), PyBytes_GET_SIZE(args[0]), require);
}

/* one line's sentences (or its refusal) appended to items; -1 with an exception set */
static int add_line(PyObject *items, const char *p, Py_ssize_t n, Py_ssize_t max_line,
                    int require) {
    if (n == 0) return 0;
    if (n > max_line) return PyList_Append(items, reject_overlong);
    const char *dollar = memchr(p, '$', n);
    if (dollar == NULL) {
        for (Py_ssize_t i = 0; i < n; i++)
            if (!is_space(p[i])) return PyList_Append(items, reject_no_sentence);
        return 0;
    }
    const char *end = p + n;
    const char *q = dollar + 1;
    for (;;) {
        const char *next = memchr(q, '$', end - q);
        PyObject *r = parse_raw(q, (next ? next : end) - q, require);
        if (r == NULL) return -1;
        int rc = PyList_Append(items, r);
        Py_DECREF(r);
        if (rc < 0) return -1;
        if (next == NULL) return 0;
        q = next + 1;
    }
}

static PyObject *split_parse(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError,
                        "split_parse(buf: bytes, max_line, require_checksum, discarding)");
        return NULL;
    }
    if (reject_overlong == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_speedups.configure() was not called");
        return NULL;
    }
    Py_ssize_t max_line = PyLong_AsSsize_t(args[1]);
    if (max_line == -1 && PyErr_Occurred()) return NULL;
    int require = PyObject_IsTrue(args[2]);
    if (require < 0) return NULL;
    int discarding = PyObject_IsTrue(args[3]);
    if (discarding < 0) return NULL;
    const char *buf = PyBytes_AS_STRING(args[0]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]);
    PyObject *items = PyList_New(0);
    if (items == NULL) return NULL;
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (buf[i] != '\n' && buf[i] != '\r') continue;
        if (discarding) {
            discarding = 0; /* the rest of an overlong line */
        } else if (add_line(items, buf + start, i - start, max_line, require) < 0) {
            Py_DECREF(items);
            return NULL;
        }
        start = i + 1;
    }
    PyObject *tail = start == 0 ? Py_NewRef(args[0])
                                : PyBytes_FromStringAndSize(buf + start, n - start);
    if (tail == NULL) {
        Py_DECREF(items);
        return NULL;
    }
    return Py_BuildValue("(NNO)", items, tail, discarding ? Py_True : Py_False);
}

static PyObject *parse_raw(const char *body, Py_ssize_t n, int require) {
    const char *star = memchr(body, '*', n);
    Py_ssize_t plen;
    if (star != NULL) {
        plen = star - body;
        const char *end = body + n;
        int expected = -1;
        if (end - star > 2 && hex_value(star[1]) >= 0 && hex_value(star[2]) >= 0)
            expected = hex_value(star[1]) * 16 + hex_value(star[2]);
        if (expected < 0 || (plen > 0 && body[plen - 1] == ' ')) {
            /* "...,A * 72": spaces around '*' are outside the checksum */
            while (plen > 0 && body[plen - 1] == ' ') plen--;
            const char *q = star + 1;
            while (q < end && *q == ' ') q++;
            expected = -1;
            if (end - q >= 2 && hex_value(q[0]) >= 0 && hex_value(q[1]) >= 0)
                expected = hex_value(q[0]) * 16 + hex_value(q[1]);
        }
        unsigned char value = 0;
        for (Py_ssize_t i = 0; i < plen; i++) value ^= (unsigned char)body[i];
        if ((int)value != expected) return Py_NewRef(reject_bad_checksum);
    } else if (require) {
        return Py_NewRef(reject_bad_checksum);
    } else {
        plen = n;
        while (plen > 0 && is_space(body[plen - 1])) plen--;
    }

    field_t fields[MAX_FIELDS];
    Py_ssize_t nf = 0, start = 0;
    for (Py_ssize_t i = 0; i <= plen; i++) {
        if (i == plen || body[i] == ',') {
            if (nf < MAX_FIELDS) {
                fields[nf].p = body + start;
                fields[nf].n = i - start;
            }
            nf++;
            start = i + 1;
        }
    }
    field_t address = fields[0];
    if (address.n < 3 || address.n > 10) return Py_NewRef(reject_malformed);
    for (Py_ssize_t i = 0; i < address.n; i++)
        if (!is_alnum(address.p[i])) return Py_NewRef(reject_malformed);
    const char *kind = address.p;
    Py_ssize_t kind_n = address.n;
    if (address.p[0] != 'P') { kind += 2; kind_n -= 2; }

    decoder_t decoder = NULL;
    Py_ssize_t size = 0;
    if (kind_n == 3) {
        if (memcmp(kind, "RMC", 3) == 0) { decoder = decode_rmc; size = 8; }
        else if (memcmp(kind, "GGA", 3) == 0) { decoder = decode_gga; size = 8; }
        else if (memcmp(kind, "GSA", 3) == 0) { decoder = decode_gsa; size = 3; }
        else if (memcmp(kind, "VTG", 3) == 0) { decoder = decode_vtg; size = 3; }
        else if (memcmp(kind, "ZDA", 3) == 0) { decoder = decode_zda; size = 3; }
        else if (memcmp(kind, "GLL", 3) == 0) { decoder = decode_gll; size = 5; }
        else if (memcmp(kind, "GNS", 3) == 0) { decoder = decode_gns; size = 8; }
    } else if (kind_n == 4 && memcmp(kind, "PGID", 4) == 0) {
        decoder = decode_pgid;
        size = 2;
    }
    if (decoder == NULL) {
        PyObject *items[2];
        items[0] = PyUnicode_DecodeASCII(kind, kind_n, NULL);
        items[1] = PyBytes_FromStringAndSize(body, plen);
        if (items[0] == NULL || items[1] == NULL) {
            release(2, items);
            return NULL;
        }
        return pack(2, items);
    }
    PyObject *items[8] = {NULL};
    int rc = decoder(fields, nf, items);
    if (rc == BAD) return Py_NewRef(reject_malformed);
    if (rc == ERROR) return NULL;
    return pack(size, items);
}

static PyObject *make_fix(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (fix_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_speedups.configure() was not called");
        return NULL;
    }
    if (nargs != FIX_ARGS) {
        PyErr_Format(PyExc_TypeError, "make_fix takes %d positional arguments", FIX_ARGS);
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)fix_type;
    PyObject *fix = type->tp_alloc(type, 0);
    if (fix == NULL) return NULL;
    for (int i = 0; i < FIX_FIELDS; i++) {
        PyObject **slot = (PyObject **)((char *)fix + fix_offsets[i]);
        *slot = Py_NewRef(i < FIX_ARGS ? args[i] : Py_None);
    }
    return fix;
}

/* configure(Fix, field_names, BAD_CHECKSUM, MALFORMED, OVERLONG, NO_SENTENCE): checks that
 * every field of the record is a plain object slot before make_fix writes into it. */
static PyObject *configure(PyObject *module, PyObject *args) {
    PyObject *type, *names, *bad, *malformed, *overlong, *no_sentence;
    if (!PyArg_ParseTuple(args, "O!O!OOOO", &PyType_Type, &type, &PyTuple_Type, &names, &bad,
                          &malformed, &overlong, &no_sentence))
        return NULL;
    if (PyTuple_GET_SIZE(names) != FIX_FIELDS) {
        PyErr_SetString(PyExc_TypeError, "Fix must have 12 fields");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < FIX_FIELDS; i++) {
        PyObject *descr = PyObject_GetAttr(type, PyTuple_GET_ITEM(names, i));
        if (descr == NULL) return NULL;
        int ok = Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
                 ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX;
        if (ok) fix_offsets[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
        Py_DECREF(descr);
        if (!ok) {
            PyErr_SetString(PyExc_TypeError, "Fix fields must be __slots__ members");
            return NULL;
        }
    }
    Py_XSETREF(fix_type, Py_NewRef(type));
    Py_XSETREF(reject_bad_checksum, Py_NewRef(bad));
    Py_XSETREF(reject_malformed, Py_NewRef(malformed));
    Py_XSETREF(reject_overlong, Py_NewRef(overlong));
    Py_XSETREF(reject_no_sentence, Py_NewRef(no_sentence));
    Py_RETURN_NONE;
}

/* at_ms(midnight, ms): midnight + timedelta(milliseconds=ms), built from the fields at once,
 * for a datetime at 00:00:00 and 0 <= ms < one day (every epoch's case); None otherwise, and
 * the caller adds in Python. */
static PyObject *at_ms(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "at_ms(midnight: datetime, ms: int)");
        return NULL;
    }
    PyObject *mid = args[0];
    if (!PyDateTime_CheckExact(mid) || PyDateTime_DATE_GET_HOUR(mid) ||
        PyDateTime_DATE_GET_MINUTE(mid) || PyDateTime_DATE_GET_SECOND(mid) ||
        PyDateTime_DATE_GET_MICROSECOND(mid) || !PyLong_CheckExact(args[1]))
        Py_RETURN_NONE;
    int overflow = 0;
    long ms = PyLong_AsLongAndOverflow(args[1], &overflow);
    if (ms == -1 && PyErr_Occurred()) return NULL;
    if (overflow || ms < 0 || ms >= 86400000L) Py_RETURN_NONE;
    return PyDateTimeAPI->DateTime_FromDateAndTime(
        PyDateTime_GET_YEAR(mid), PyDateTime_GET_MONTH(mid), PyDateTime_GET_DAY(mid),
        (int)(ms / 3600000L), (int)(ms / 60000L % 60), (int)(ms / 1000L % 60),
        (int)(ms % 1000L) * 1000, PyDateTime_DATE_GET_TZINFO(mid), PyDateTimeAPI->DateTimeType);
}

static PyMethodDef methods[] = {
    {"at_ms", (PyCFunction)(void (*)(void))at_ms, METH_FASTCALL,
     "at_ms(midnight, ms) -> midnight + timedelta(milliseconds=ms), or None"},
    {"parse_body", (PyCFunction)(void (*)(void))parse_body, METH_FASTCALL,
     "parse_body(body, require_checksum=False): see devices.nmea.sentences.parse_body"},
    {"make_fix", (PyCFunction)(void (*)(void))make_fix, METH_FASTCALL,
     "make_fix(time, lat, lon, speed_kn, course, alt_m, sats, hdop, fix_quality, mode, "
     "terminal) -> Fix"},
    {"split_parse", (PyCFunction)(void (*)(void))split_parse, METH_FASTCALL,
     "split_parse(buf, max_line, require_checksum, discarding) -> (items, tail, discarding)"},
    {"configure", configure, METH_VARARGS,
     "configure(Fix, field_names, BAD_CHECKSUM, MALFORMED, OVERLONG, NO_SENTENCE)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_speedups", "C accelerator for devices.nmea (optional)", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) return NULL;
    s_rmc = PyUnicode_InternFromString("RMC");
    s_gga = PyUnicode_InternFromString("GGA");
    s_gsa = PyUnicode_InternFromString("GSA");
    s_vtg = PyUnicode_InternFromString("VTG");
    s_zda = PyUnicode_InternFromString("ZDA");
    s_gll = PyUnicode_InternFromString("GLL");
    s_gns = PyUnicode_InternFromString("GNS");
    s_pgid = PyUnicode_InternFromString("PGID");
    if (!s_rmc || !s_gga || !s_gsa || !s_vtg || !s_zda || !s_gll || !s_gns || !s_pgid)
        return NULL;
    return PyModule_Create(&module_def);
}
