/* Optional C accelerator for telemetry.pgcopy.encode_positions, the writer's hot loop.
 *
 * pack_rows(terminal_id: bytes, received_micros: int, fixes) returns the binary COPY rows of
 * one chunk, exactly the bytes the Python fast path packs with its precompiled struct, or
 * None when any fix is not the plain case (a time that is not a datetime in UTC, a lat/lon
 * that is not a float within range, an optional field that is None, not an exact float or
 * int, or out of the column's range): then the Python code encodes that chunk as before, so
 * whatever is not plain takes the very path it took without this module. Floats are packed
 * with PyFloat_Pack4/Pack8, the routines the struct module uses.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <string.h>

#define N_FIELDS 11
#define ROW_FIXED 98 /* bytes of a row besides the terminal id */

static PyObject *s_time, *s_lat, *s_lon, *s_speed, *s_course, *s_alt, *s_sats, *s_hdop,
    *s_quality;
static long long epoch_days; /* proleptic ordinal of 2000-01-01 */

static long long days_from_civil(int y, int m, int d) {
    /* days since 0000-03-01 style civil algorithm, any consistent origin works */
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe;
}

static void put_i16(char **p, int v) {
    (*p)[0] = (char)((v >> 8) & 0xff);
    (*p)[1] = (char)(v & 0xff);
    *p += 2;
}
static void put_i32(char **p, long v) {
    for (int i = 3; i >= 0; i--) (*p)[3 - i] = (char)((v >> (8 * i)) & 0xff);
    *p += 4;
}
static void put_i64(char **p, long long v) {
    unsigned long long u = (unsigned long long)v;
    for (int i = 7; i >= 0; i--) (*p)[7 - i] = (char)((u >> (8 * i)) & 0xff);
    *p += 8;
}

/* 1: packed; 0: not the plain case (no exception set); -1: exception */
static int put_float4(char **p, PyObject *v) {
    if (!PyFloat_CheckExact(v)) return 0;
    put_i32(p, 4);
    if (PyFloat_Pack4(PyFloat_AS_DOUBLE(v), *p, 0) < 0) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) return -1;
        PyErr_Clear();
        return 0;
    }
    *p += 4;
    return 1;
}
static int put_int2(char **p, PyObject *v) {
    if (!PyLong_CheckExact(v)) return 0;
    int overflow = 0;
    long x = PyLong_AsLongAndOverflow(v, &overflow);
    if (x == -1 && PyErr_Occurred()) return -1;
    if (overflow || x < -32768 || x > 32767) return 0;
    put_i32(p, 2);
    put_i16(p, (int)x);
    return 1;
}

/* 1 packed, 0 not plain, -1 error */
static int pack_fix(char **p, PyObject *fix, const char *tid, Py_ssize_t n, long long recv) {
    PyObject *v[9] = {NULL};
    PyObject *names[9] = {s_time, s_lat, s_lon, s_speed, s_course, s_alt, s_sats, s_hdop,
                          s_quality};
    int rc = -1;
    for (int i = 0; i < 9; i++) {
        v[i] = PyObject_GetAttr(fix, names[i]);
        if (v[i] == NULL) {
            if (PyErr_ExceptionMatches(PyExc_AttributeError)) { PyErr_Clear(); rc = 0; }
            goto done;
        }
    }
    PyObject *t = v[0];
    if (!PyDateTime_CheckExact(t) || PyDateTime_DATE_GET_TZINFO(t) != PyDateTime_TimeZone_UTC ||
        !PyFloat_CheckExact(v[1]) || !PyFloat_CheckExact(v[2])) {
        rc = 0;
        goto done;
    }
    double lat = PyFloat_AS_DOUBLE(v[1]), lon = PyFloat_AS_DOUBLE(v[2]);
    if (!(-90.0 <= lat && lat <= 90.0 && -180.0 <= lon && lon <= 180.0)) { rc = 0; goto done; }
    long long days = days_from_civil(PyDateTime_GET_YEAR(t), PyDateTime_GET_MONTH(t),
                                     PyDateTime_GET_DAY(t)) - epoch_days;
    long long micros = ((days * 86400LL + PyDateTime_DATE_GET_HOUR(t) * 3600LL +
                         PyDateTime_DATE_GET_MINUTE(t) * 60LL + PyDateTime_DATE_GET_SECOND(t)) *
                        1000000LL) + PyDateTime_DATE_GET_MICROSECOND(t);
    char *start = *p;
    put_i16(p, N_FIELDS);
    put_i32(p, (long)n);
    memcpy(*p, tid, n);
    *p += n;
    put_i32(p, 8);
    put_i64(p, micros);
    put_i32(p, 8);
    if (PyFloat_Pack8(lat, *p, 0) < 0) goto done;
    *p += 8;
    put_i32(p, 8);
    if (PyFloat_Pack8(lon, *p, 0) < 0) goto done;
    *p += 8;
    int r;
    if ((r = put_float4(p, v[3])) != 1 || (r = put_float4(p, v[4])) != 1 ||
        (r = put_float4(p, v[5])) != 1 || (r = put_int2(p, v[6])) != 1 ||
        (r = put_float4(p, v[7])) != 1 || (r = put_int2(p, v[8])) != 1) {
        *p = start;
        rc = r;
        goto done;
    }
    put_i32(p, 8);
    put_i64(p, recv);
    rc = 1;
done:
    for (int i = 0; i < 9; i++) Py_XDECREF(v[i]);
    return rc;
}

static PyObject *pack_rows(PyObject *Py_UNUSED(module), PyObject *const *args,
                           Py_ssize_t nargs) {
    if (nargs != 3 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError,
                        "pack_rows(terminal_id: bytes, received_micros: int, fixes)");
        return NULL;
    }
    const char *tid = PyBytes_AS_STRING(args[0]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]);
    long long recv = PyLong_AsLongLong(args[1]);
    if (recv == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) return NULL;
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (!PyList_CheckExact(args[2]) && !PyTuple_CheckExact(args[2])) Py_RETURN_NONE;
    PyObject *seq = args[2];
    Py_ssize_t rows = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    PyObject *out = PyBytes_FromStringAndSize(NULL, rows * (ROW_FIXED + n));
    if (out == NULL) return NULL;
    char *p = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < rows; i++) {
        int rc = pack_fix(&p, items[i], tid, n, recv);
        if (rc <= 0) {
            Py_DECREF(out);
            if (rc < 0) return NULL;
            Py_RETURN_NONE;
        }
    }
    return out;
}

static PyMethodDef methods[] = {
    {"pack_rows", (PyCFunction)(void (*)(void))pack_rows, METH_FASTCALL,
     "pack_rows(terminal_id, received_micros, fixes) -> bytes | None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_pgcopy", "C accelerator for telemetry.pgcopy (optional)", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pgcopy(void) {
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) return NULL;
    s_time = PyUnicode_InternFromString("time");
    s_lat = PyUnicode_InternFromString("lat");
    s_lon = PyUnicode_InternFromString("lon");
    s_speed = PyUnicode_InternFromString("speed_kn");
    s_course = PyUnicode_InternFromString("course");
    s_alt = PyUnicode_InternFromString("alt_m");
    s_sats = PyUnicode_InternFromString("sats");
    s_hdop = PyUnicode_InternFromString("hdop");
    s_quality = PyUnicode_InternFromString("fix_quality");
    if (!s_time || !s_lat || !s_lon || !s_speed || !s_course || !s_alt || !s_sats || !s_hdop ||
        !s_quality)
        return NULL;
    epoch_days = days_from_civil(2000, 1, 1);
    return PyModule_Create(&module_def);
}
