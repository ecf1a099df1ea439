/* Optional C accelerator for the JT/T 808 decoder's hot path.
 *
 * parse(raw)            is devices.jt808.frame.parse: escapes, check code, 2013/2019 header
 * decode_location(body) is devices.jt808.messages.decode_location (time in Beijing time)
 * encode_frame(msg_id, phone_bcd, serial, body, version, packages)
 *                       is devices.jt808.frame.encode_frame with its keywords positional
 * location_frame(raw, platform_serial, max_frame)
 *                       the whole of Jt808Stream's work for the common frame: a plain 0x0200
 *                       (no sub-package, no RSA, check code right) whose position is valid and
 *                       dated and whose items are only mileage, fuel, signal and satellites:
 *                       (Fix, 0x8001 reply frame, phone, version), or None for anything else,
 *                       which the stream then decodes the general way (nothing is changed by
 *                       a None: the fast path has no side effects)
 * make_fix(...), make_status(...)
 *                       build devices.records.Fix and devices.status.DeviceStatus from every
 *                       field in order, skipping the frozen dataclasses' __init__ (about
 *                       1.5 us a record in object.__setattr__ calls)
 *
 * Each must give exactly what the Python reference gives for any input: tests/devices hold
 * them to that with hypothesis (devices/jt808/accel.py chooses which one runs). The records
 * (frame.Message, messages.Location) are built by filling their slots directly, as the NMEA
 * accelerator does for Fix.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <datetime.h>
#include <string.h>

#define FLAG 0x7E
#define ESCAPE 0x7D
#define RSA_BIT 0x0400
#define SUBPACKAGE_BIT 0x2000
#define VERSION_BIT 0x4000
#define RESERVED_BIT 0x8000
#define LOCATION_SIZE 28
#define SOUTH_BIT 0x4
#define WEST_BIT 0x8
#define MESSAGE_FIELDS 7
#define LOCATION_FIELDS 9
#define MAX_BODY 0x3FF
#define MAX_PACKAGES_HEAD 4
#define BEIJING_OFFSET_S (8 * 3600)

#define MAX_RECORD_FIELDS 16

static PyObject *message_type = NULL, *location_type = NULL, *utc = NULL;
/* the records make() builds: devices.records.Fix and devices.status.DeviceStatus */
static PyObject *record_types[2] = {NULL, NULL};
static Py_ssize_t record_sizes[2];
static Py_ssize_t record_offsets[2][MAX_RECORD_FIELDS];
static Py_ssize_t message_offsets[MESSAGE_FIELDS];
static Py_ssize_t location_offsets[LOCATION_FIELDS];
static PyObject *round_func = NULL, *alarms_of = NULL, *no_alarms = NULL;
static PyObject *reject_malformed = NULL, *reject_truncated = NULL, *reject_bad_check = NULL,
                *reject_unsupported = NULL;

static int configured(void) {
    if (message_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_speedups.configure() was not called");
        return 0;
    }
    return 1;
}

/* A new instance of a configured slots class, its slots taken from values (references
 * stolen; a NULL value fails the whole, releasing the others). */
static PyObject *fill(PyObject *type_obj, const Py_ssize_t *offsets, int n, PyObject **values) {
    for (int i = 0; i < n; i++) {
        if (values[i] == NULL) {
            for (int j = 0; j < n; j++) Py_XDECREF(values[j]);
            return NULL;
        }
    }
    PyTypeObject *type = (PyTypeObject *)type_obj;
    PyObject *obj = type->tp_alloc(type, 0);
    if (obj == NULL) {
        for (int j = 0; j < n; j++) Py_DECREF(values[j]);
        return NULL;
    }
    for (int i = 0; i < n; i++) *(PyObject **)((char *)obj + offsets[i]) = values[i];
    return obj;
}

static unsigned int word(const unsigned char *p) { return ((unsigned int)p[0] << 8) | p[1]; }
static unsigned long dword(const unsigned char *p) {
    return ((unsigned long)p[0] << 24) | ((unsigned long)p[1] << 16) |
           ((unsigned long)p[2] << 8) | p[3];
}

/* the header's phone bytes as hex digits (bytes.hex(): BCD, or a maker's hex) */
static void phone_digits(const unsigned char *raw, Py_ssize_t n, char *out) {
    static const char hex[] = "0123456789abcdef";
    for (Py_ssize_t i = 0; i < n; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
}

/* frame.parse */
static PyObject *parse(PyObject *module, PyObject *arg) {
    if (!configured()) return NULL;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "parse(raw: bytes)");
        return NULL;
    }
    const unsigned char *raw = (const unsigned char *)PyBytes_AS_STRING(arg);
    Py_ssize_t n = PyBytes_GET_SIZE(arg);
    unsigned char *data = NULL;
    const unsigned char *d = raw;
    Py_ssize_t len = n;
    if (memchr(raw, ESCAPE, n) != NULL) {
        data = PyMem_Malloc(n > 0 ? n : 1);
        if (data == NULL) return PyErr_NoMemory();
        len = 0;
        Py_ssize_t i = 0;
        while (i < n) {
            unsigned char b = raw[i];
            if (b == ESCAPE) {
                if (i + 1 >= n) {
                    PyMem_Free(data);
                    return Py_NewRef(reject_malformed);
                }
                unsigned char next = raw[i + 1];
                if (next == 0x01) { data[len++] = ESCAPE; i += 2; }
                else if (next == 0x02) { data[len++] = FLAG; i += 2; }
                else { data[len++] = b; i += 1; } /* unescaped 0x7D: the check code decides */
            } else {
                data[len++] = b;
                i += 1;
            }
        }
        d = data;
    }
    PyObject *result = NULL;
    if (len < 13) { result = Py_NewRef(reject_truncated); goto done; }
    unsigned char x = 0;
    for (Py_ssize_t i = 0; i < len - 1; i++) x ^= d[i];
    if (x != d[len - 1]) { result = Py_NewRef(reject_bad_check); goto done; }
    unsigned int msg_id = word(d), props = word(d + 2);
    if (props & RESERVED_BIT) { result = Py_NewRef(reject_unsupported); goto done; }
    PyObject *version;
    const unsigned char *phone_raw;
    Py_ssize_t phone_len, pos;
    if (props & VERSION_BIT) {
        if (len < 18) { result = Py_NewRef(reject_truncated); goto done; }
        version = PyLong_FromLong(d[4]);
        phone_raw = d + 5;
        phone_len = 10;
        pos = 15;
    } else {
        version = Py_NewRef(Py_None);
        phone_raw = d + 4;
        phone_len = 6;
        pos = 10;
    }
    if (version == NULL) goto done;
    unsigned int serial = word(d + pos);
    pos += 2;
    PyObject *packages;
    if (props & SUBPACKAGE_BIT) {
        if (len < pos + 5) {
            Py_DECREF(version);
            result = Py_NewRef(reject_truncated);
            goto done;
        }
        unsigned int total = word(d + pos), index = word(d + pos + 2);
        pos += 4;
        if (total == 0 || index < 1 || index > total) {
            Py_DECREF(version);
            result = Py_NewRef(reject_malformed);
            goto done;
        }
        packages = Py_BuildValue("(II)", total, index);
    } else {
        packages = Py_NewRef(Py_None);
    }
    char phone[20];
    phone_digits(phone_raw, phone_len, phone);
    PyObject *values[MESSAGE_FIELDS] = {
        PyLong_FromLong(msg_id),
        PyUnicode_DecodeASCII(phone, 2 * phone_len, NULL),
        PyLong_FromLong(serial),
        PyBytes_FromStringAndSize((const char *)d + pos, len - 1 - pos),
        version,
        packages,
        PyBool_FromLong(props & RSA_BIT),
    };
    result = fill(message_type, message_offsets, MESSAGE_FIELDS, values);
done:
    if (data != NULL) PyMem_Free(data);
    return result;
}

/* two BCD digits, -1 when a nibble is not a digit */
static int bcd(unsigned char b) {
    int hi = b >> 4, lo = b & 15;
    return hi < 10 && lo < 10 ? hi * 10 + lo : -1;
}

static int leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm) */
static long days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, int *y, int *m, int *d) {
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* messages.decode_time: BCD YYMMDDhhmmss, Beijing time, to an aware UTC datetime; None when
 * it is not a real time */
static PyObject *decode_time(const unsigned char *p) {
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = bcd(p[0]), mo = bcd(p[1]), day = bcd(p[2]);
    int h = bcd(p[3]), mi = bcd(p[4]), s = bcd(p[5]);
    if (y < 0 || mo < 1 || mo > 12 || day < 1) Py_RETURN_NONE;
    y += 2000;
    int last = month_days[mo - 1] + (mo == 2 && leap(y));
    if (day > last || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) Py_RETURN_NONE;
    long long t = (long long)days_from_civil(y, mo, day) * 86400 + h * 3600 + mi * 60 + s -
                  BEIJING_OFFSET_S;
    long days = (long)(t >= 0 ? t / 86400 : -((-t + 86399) / 86400));
    long rest = (long)(t - (long long)days * 86400);
    int uy, um, ud;
    civil_from_days(days, &uy, &um, &ud);
    return PyDateTimeAPI->DateTime_FromDateAndTime(uy, um, ud, (int)(rest / 3600),
                                                   (int)(rest / 60 % 60), (int)(rest % 60), 0,
                                                   utc, PyDateTimeAPI->DateTimeType);
}

/* messages.decode_location */
static PyObject *decode_location(PyObject *module, PyObject *arg) {
    if (!configured()) return NULL;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "decode_location(body: bytes)");
        return NULL;
    }
    const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(arg);
    Py_ssize_t n = PyBytes_GET_SIZE(arg);
    if (n < LOCATION_SIZE) Py_RETURN_NONE;
    unsigned long alarm = dword(b), status = dword(b + 4);
    double lat = (double)dword(b + 8) / 1e6, lon = (double)dword(b + 12) / 1e6;
    if (status & SOUTH_BIT) lat = -lat;
    if (status & WEST_BIT) lon = -lon;
    int alt = (int)(short)word(b + 16);
    double speed = (double)word(b + 18) / 10;
    unsigned int course = word(b + 20);
    PyObject *items = PyDict_New();
    if (items == NULL) return NULL;
    Py_ssize_t pos = LOCATION_SIZE;
    while (pos + 2 <= n) {
        unsigned char id = b[pos], length = b[pos + 1];
        Py_ssize_t end = pos + 2 + length;
        if (end > n) break;
        PyObject *key = PyLong_FromLong(id);
        PyObject *value = PyBytes_FromStringAndSize((const char *)b + pos + 2, length);
        int rc = key && value ? PyDict_SetItem(items, key, value) : -1;
        Py_XDECREF(key);
        Py_XDECREF(value);
        if (rc < 0) {
            Py_DECREF(items);
            return NULL;
        }
        pos = end;
    }
    /* slot order: configure() received the Location fields in __init__'s order */
    PyObject *values[LOCATION_FIELDS] = {
        PyLong_FromUnsignedLong(alarm),
        PyLong_FromUnsignedLong(status),
        PyFloat_FromDouble(lat),
        PyFloat_FromDouble(lon),
        PyLong_FromLong(alt),
        PyFloat_FromDouble(speed),
        PyLong_FromLong(course),
        decode_time(b + 22),
        items,
    };
    return fill(location_type, location_offsets, LOCATION_FIELDS, values);
}

/* Write a frame (flags included, escaped) for header+body data of len bytes into a new bytes
 * object: the check code is computed here, into data[len] (the caller leaves room). */
static PyObject *escaped_frame(unsigned char *data, Py_ssize_t len) {
    unsigned char x = 0;
    for (Py_ssize_t i = 0; i < len; i++) x ^= data[i];
    data[len++] = x;
    Py_ssize_t extra = 0;
    for (Py_ssize_t i = 0; i < len; i++) extra += data[i] == FLAG || data[i] == ESCAPE;
    PyObject *out = PyBytes_FromStringAndSize(NULL, len + extra + 2);
    if (out == NULL) return NULL;
    unsigned char *o = (unsigned char *)PyBytes_AS_STRING(out);
    *o++ = FLAG;
    for (Py_ssize_t i = 0; i < len; i++) {
        unsigned char c = data[i];
        if (c == ESCAPE) { *o++ = ESCAPE; *o++ = 0x01; }
        else if (c == FLAG) { *o++ = ESCAPE; *o++ = 0x02; }
        else *o++ = c;
    }
    *o = FLAG;
    return out;
}

/* frame.encode_frame(msg_id, phone_bcd, serial, body, version=, packages=) */
static PyObject *encode_frame(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 6 || !PyBytes_Check(args[1]) || !PyBytes_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "encode_frame(msg_id, phone_bcd: bytes, serial, "
                                         "body: bytes, version, packages)");
        return NULL;
    }
    long msg_id = PyLong_AsLong(args[0]);
    if (msg_id == -1 && PyErr_Occurred()) return NULL;
    long serial = PyLong_AsLong(args[2]);
    if (serial == -1 && PyErr_Occurred()) return NULL;
    Py_ssize_t phone_len = PyBytes_GET_SIZE(args[1]), body_len = PyBytes_GET_SIZE(args[3]);
    if (msg_id < 0 || msg_id > 0xFFFF || phone_len > 10 || body_len > MAX_BODY) {
        PyErr_SetString(PyExc_ValueError, "encode_frame: message id, phone or body too large");
        return NULL;
    }
    long version = -1, total = 0, index = 0;
    if (args[4] != Py_None) {
        version = PyLong_AsLong(args[4]);
        if (version == -1 && PyErr_Occurred()) return NULL;
        if (version < 0 || version > 255) {
            PyErr_SetString(PyExc_ValueError, "encode_frame: version is one byte");
            return NULL;
        }
    }
    int packaged = args[5] != Py_None;
    if (packaged) {
        if (!PyArg_ParseTuple(args[5], "ll", &total, &index)) return NULL;
        if (total < 0 || total > 0xFFFF || index < 0 || index > 0xFFFF) {
            PyErr_SetString(PyExc_ValueError, "encode_frame: packages are two words");
            return NULL;
        }
    }
    unsigned char data[2 + 2 + 1 + 10 + 2 + MAX_PACKAGES_HEAD + MAX_BODY + 1];
    Py_ssize_t len = 0;
    unsigned int props = (unsigned int)body_len | (version >= 0 ? VERSION_BIT : 0) |
                         (packaged ? SUBPACKAGE_BIT : 0);
    data[len++] = (unsigned char)(msg_id >> 8);
    data[len++] = (unsigned char)msg_id;
    data[len++] = (unsigned char)(props >> 8);
    data[len++] = (unsigned char)props;
    if (version >= 0) data[len++] = (unsigned char)version;
    memcpy(data + len, PyBytes_AS_STRING(args[1]), phone_len);
    len += phone_len;
    data[len++] = (unsigned char)((serial & 0xFFFF) >> 8);
    data[len++] = (unsigned char)serial;
    if (packaged) {
        data[len++] = (unsigned char)(total >> 8);
        data[len++] = (unsigned char)total;
        data[len++] = (unsigned char)(index >> 8);
        data[len++] = (unsigned char)index;
    }
    memcpy(data + len, PyBytes_AS_STRING(args[3]), body_len);
    len += body_len;
    return escaped_frame(data, len);
}

/* make_fix / make_status: a configured record from all its fields, positionally */
static PyObject *make(int kind, PyObject *const *args, Py_ssize_t nargs) {
    if (record_types[kind] == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_speedups.configure_records() was not called");
        return NULL;
    }
    if (nargs != record_sizes[kind]) {
        PyErr_Format(PyExc_TypeError, "expected %zd positional arguments, got %zd",
                     record_sizes[kind], nargs);
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)record_types[kind];
    PyObject *obj = type->tp_alloc(type, 0);
    if (obj == NULL) return NULL;
    for (Py_ssize_t i = 0; i < nargs; i++)
        *(PyObject **)((char *)obj + record_offsets[kind][i]) = Py_NewRef(args[i]);
    return obj;
}

static PyObject *make_fix(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    return make(0, args, nargs);
}

static PyObject *make_status(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    return make(1, args, nargs);
}

/* round(value, 1) as Python rounds it */
static PyObject *round1(double value) {
    PyObject *number = PyFloat_FromDouble(value);
    if (number == NULL) return NULL;
    PyObject *ndigits = PyLong_FromLong(1);
    if (ndigits == NULL) { Py_DECREF(number); return NULL; }
    PyObject *out = PyObject_CallFunctionObjArgs(round_func, number, ndigits, NULL);
    Py_DECREF(number);
    Py_DECREF(ndigits);
    return out;
}

#define NOT_FAST (Py_NewRef(Py_None))

static PyObject *location_frame(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (!configured() || round_func == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_speedups is not configured");
        return NULL;
    }
    if (nargs != 3 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError,
                        "location_frame(raw: bytes, platform_serial: int, max_frame: int)");
        return NULL;
    }
    long platform_serial = PyLong_AsLong(args[1]);
    if (platform_serial == -1 && PyErr_Occurred()) return NULL;
    Py_ssize_t max_frame = PyLong_AsSsize_t(args[2]);
    if (max_frame == -1 && PyErr_Occurred()) return NULL;
    const unsigned char *raw = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]);
    /* the fast case carries no escapes (they are rare in location frames): the general
     * path takes the others, and frames longer than the stream's limit */
    if (n > max_frame || n < 13 + LOCATION_SIZE || memchr(raw, ESCAPE, n) != NULL)
        return NOT_FAST;
    const unsigned char *d = raw;
    Py_ssize_t len = n;
    unsigned char x = 0;
    for (Py_ssize_t i = 0; i < len - 1; i++) x ^= d[i];
    if (x != d[len - 1]) return NOT_FAST;
    unsigned int msg_id = word(d), props = word(d + 2);
    if (msg_id != 0x0200 || (props & (RESERVED_BIT | RSA_BIT | SUBPACKAGE_BIT))) return NOT_FAST;
    int version = -1;
    Py_ssize_t phone_at, phone_len, pos;
    if (props & VERSION_BIT) {
        version = d[4];
        phone_at = 5;
        phone_len = 10;
        pos = 15;
    } else {
        phone_at = 4;
        phone_len = 6;
        pos = 10;
    }
    if (len - 1 < pos + 2 + LOCATION_SIZE) return NOT_FAST;
    unsigned int serial = word(d + pos);
    pos += 2;
    const unsigned char *b = d + pos;
    Py_ssize_t bn = len - 1 - pos;
    unsigned long alarm = dword(b), status = dword(b + 4);
    if (!(status & 0x2)) return NOT_FAST; /* not positioned: a NoFix, the general path */
    double lat = (double)dword(b + 8) / 1e6, lon = (double)dword(b + 12) / 1e6;
    if (lat > 90.0 || lon > 180.0) return NOT_FAST; /* refused by the general path */
    if (status & SOUTH_BIT) lat = -lat;
    if (status & WEST_BIT) lon = -lon;
    /* the items: only mileage (0x01, 4), fuel (0x02, 2), signal (0x30, 1), satellites (0x31,
     * 1), each at most once, and nothing after the last one */
    long mileage = -1, fuel = -1, signal = -1, sats = -1;
    Py_ssize_t at = LOCATION_SIZE;
    while (at + 2 <= bn) {
        unsigned char id = b[at], length = b[at + 1];
        const unsigned char *v = b + at + 2;
        if (at + 2 + length > bn) return NOT_FAST;
        if (id == 0x01 && length == 4 && mileage < 0) mileage = (long)dword(v);
        else if (id == 0x02 && length == 2 && fuel < 0) fuel = (long)word(v);
        else if (id == 0x30 && length == 1 && signal < 0) signal = v[0];
        else if (id == 0x31 && length == 1 && sats < 0) sats = v[0];
        else return NOT_FAST;
        at += 2 + length;
    }
    if (at != bn) return NOT_FAST;
    PyObject *time = decode_time(b + 22);
    if (time == NULL) return NULL;
    if (time == Py_None) {
        Py_DECREF(time);
        return NOT_FAST; /* undated: the general path counts it */
    }

    PyObject *alarms;
    if (alarm) {
        PyObject *word_obj = PyLong_FromUnsignedLong(alarm);
        alarms = word_obj ? PyObject_CallOneArg(alarms_of, word_obj) : NULL;
        Py_XDECREF(word_obj);
    } else {
        alarms = Py_NewRef(no_alarms);
    }
    PyObject *status_values[10] = {
        alarms,
        PyBool_FromLong(status & 1),
        Py_NewRef(Py_None),
        Py_NewRef(Py_None),
        Py_NewRef(Py_None),
        mileage >= 0 ? round1((double)mileage * 0.1) : Py_NewRef(Py_None),
        fuel >= 0 ? round1((double)fuel * 0.1) : Py_NewRef(Py_None),
        signal >= 0 ? PyLong_FromLong(signal) : Py_NewRef(Py_None),
        Py_NewRef(Py_None),
        PyDict_New(),
    };
    PyObject *device_status = fill(record_types[1], record_offsets[1], 10, status_values);
    if (device_status == NULL) {
        Py_DECREF(time);
        return NULL;
    }
    char phone[20];
    phone_digits(d + phone_at, phone_len, phone);
    Py_ssize_t lead = 0;
    while (lead < 2 * phone_len && phone[lead] == '0') lead++;
    Py_ssize_t digits = 2 * phone_len - lead;
    PyObject *terminal = digits ? PyUnicode_DecodeASCII(phone + lead, digits, NULL)
                                : PyUnicode_FromString("0");
    PyObject *fix_values[12] = {
        time,
        PyFloat_FromDouble(lat),
        PyFloat_FromDouble(lon),
        PyFloat_FromDouble(((double)word(b + 18) / 10) / 1.852),
        PyFloat_FromDouble((double)word(b + 20)),
        PyFloat_FromDouble((double)(short)word(b + 16)),
        sats >= 0 ? PyLong_FromLong(sats) : Py_NewRef(Py_None),
        Py_NewRef(Py_None),
        Py_NewRef(Py_None),
        Py_NewRef(Py_None),
        terminal,
        device_status,
    };
    PyObject *fix = fill(record_types[0], record_offsets[0], 12, fix_values);
    if (fix == NULL) return NULL;

    /* the 0x8001 general reply: the terminal's serial and message id, result 0 */
    unsigned char data[2 + 2 + 1 + 10 + 2 + 5 + 1];
    Py_ssize_t rl = 0;
    unsigned int rprops = 5 | (version >= 0 ? VERSION_BIT : 0);
    data[rl++] = 0x80;
    data[rl++] = 0x01;
    data[rl++] = (unsigned char)(rprops >> 8);
    data[rl++] = (unsigned char)rprops;
    if (version >= 0) data[rl++] = (unsigned char)version;
    memcpy(data + rl, d + phone_at, phone_len);
    rl += phone_len;
    data[rl++] = (unsigned char)((platform_serial & 0xFFFF) >> 8);
    data[rl++] = (unsigned char)platform_serial;
    data[rl++] = (unsigned char)(serial >> 8);
    data[rl++] = (unsigned char)serial;
    data[rl++] = 0x02;
    data[rl++] = 0x00;
    data[rl++] = 0x00;
    PyObject *reply = escaped_frame(data, rl);
    PyObject *phone_obj = PyUnicode_DecodeASCII(phone, 2 * phone_len, NULL);
    PyObject *version_obj = version >= 0 ? PyLong_FromLong(version) : Py_NewRef(Py_None);
    if (reply == NULL || phone_obj == NULL || version_obj == NULL) {
        Py_DECREF(fix);
        Py_XDECREF(reply);
        Py_XDECREF(phone_obj);
        Py_XDECREF(version_obj);
        return NULL;
    }
    PyObject *out = PyTuple_Pack(4, fix, reply, phone_obj, version_obj);
    Py_DECREF(fix);
    Py_DECREF(reply);
    Py_DECREF(phone_obj);
    Py_DECREF(version_obj);
    return out;
}

/* The offsets of a slots class's members named in names (each a plain object slot). */
static int offsets_of(PyObject *type, PyObject *names, Py_ssize_t *offsets, Py_ssize_t n) {
    if (!PyTuple_Check(names) || PyTuple_GET_SIZE(names) != n) {
        PyErr_Format(PyExc_TypeError, "expected %zd field names", n);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *descr = PyObject_GetAttr(type, PyTuple_GET_ITEM(names, i));
        if (descr == NULL) return -1;
        int ok = Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
                 ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX;
        if (ok) offsets[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
        Py_DECREF(descr);
        if (!ok) {
            PyErr_SetString(PyExc_TypeError, "fields must be __slots__ members");
            return -1;
        }
    }
    return 0;
}

/* configure(Message, message_fields, Location, location_fields, UTC,
 *           MALFORMED, TRUNCATED, BAD_CHECKSUM, UNSUPPORTED) */
static PyObject *configure(PyObject *module, PyObject *args) {
    PyObject *mtype, *mnames, *ltype, *lnames, *tz, *malformed, *truncated, *bad, *unsupported;
    if (!PyArg_ParseTuple(args, "O!OO!OOOOOO", &PyType_Type, &mtype, &mnames, &PyType_Type,
                          &ltype, &lnames, &tz, &malformed, &truncated, &bad, &unsupported))
        return NULL;
    if (offsets_of(mtype, mnames, message_offsets, MESSAGE_FIELDS) < 0) return NULL;
    if (offsets_of(ltype, lnames, location_offsets, LOCATION_FIELDS) < 0) return NULL;
    Py_XSETREF(message_type, Py_NewRef(mtype));
    Py_XSETREF(location_type, Py_NewRef(ltype));
    Py_XSETREF(utc, Py_NewRef(tz));
    Py_XSETREF(reject_malformed, Py_NewRef(malformed));
    Py_XSETREF(reject_truncated, Py_NewRef(truncated));
    Py_XSETREF(reject_bad_check, Py_NewRef(bad));
    Py_XSETREF(reject_unsupported, Py_NewRef(unsupported));
    Py_RETURN_NONE;
}

/* configure_records(Fix, fix_fields, DeviceStatus, status_fields) */
static PyObject *configure_records(PyObject *module, PyObject *args) {
    PyObject *types[2], *names[2];
    if (!PyArg_ParseTuple(args, "O!O!O!O!", &PyType_Type, &types[0], &PyTuple_Type, &names[0],
                          &PyType_Type, &types[1], &PyTuple_Type, &names[1]))
        return NULL;
    for (int k = 0; k < 2; k++) {
        Py_ssize_t n = PyTuple_GET_SIZE(names[k]);
        if (n > MAX_RECORD_FIELDS) {
            PyErr_SetString(PyExc_TypeError, "too many fields");
            return NULL;
        }
        if (offsets_of(types[k], names[k], record_offsets[k], n) < 0) return NULL;
        record_sizes[k] = n;
        Py_XSETREF(record_types[k], Py_NewRef(types[k]));
    }
    Py_RETURN_NONE;
}

/* configure_fast(round, alarms_of, no_alarms), after configure_records: location_frame
 * fills a Fix of 12 fields and a DeviceStatus of 10, checked here once */
static PyObject *configure_fast(PyObject *module, PyObject *args) {
    PyObject *r, *a, *none;
    if (!PyArg_ParseTuple(args, "OOO", &r, &a, &none)) return NULL;
    if (record_types[0] == NULL || record_sizes[0] != 12 || record_sizes[1] != 10) {
        PyErr_SetString(PyExc_TypeError, "configure_records(Fix of 12 fields, DeviceStatus of "
                                         "10) must come first");
        return NULL;
    }
    Py_XSETREF(round_func, Py_NewRef(r));
    Py_XSETREF(alarms_of, Py_NewRef(a));
    Py_XSETREF(no_alarms, Py_NewRef(none));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"parse", parse, METH_O, "parse(raw): see devices.jt808.frame.parse"},
    {"decode_location", decode_location, METH_O,
     "decode_location(body): see devices.jt808.messages.decode_location"},
    {"encode_frame", (PyCFunction)(void (*)(void))encode_frame, METH_FASTCALL,
     "encode_frame(msg_id, phone_bcd, serial, body, version, packages): see "
     "devices.jt808.frame.encode_frame"},
    {"make_fix", (PyCFunction)(void (*)(void))make_fix, METH_FASTCALL,
     "make_fix(*every field of Fix in order) -> Fix"},
    {"make_status", (PyCFunction)(void (*)(void))make_status, METH_FASTCALL,
     "make_status(*every field of DeviceStatus in order) -> DeviceStatus"},
    {"location_frame", (PyCFunction)(void (*)(void))location_frame, METH_FASTCALL,
     "location_frame(raw, platform_serial, max_frame) -> (Fix, reply, phone, version) | None"},
    {"configure_fast", configure_fast, METH_VARARGS,
     "configure_fast(round, alarms_of, no_alarms)"},
    {"configure_records", configure_records, METH_VARARGS,
     "configure_records(Fix, fix_fields, DeviceStatus, status_fields)"},
    {"configure", configure, METH_VARARGS,
     "configure(Message, message_fields, Location, location_fields, UTC, MALFORMED, "
     "TRUNCATED, BAD_CHECKSUM, UNSUPPORTED)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_speedups", "C accelerator for devices.jt808 (optional)", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) return NULL;
    return PyModule_Create(&module_def);
}
