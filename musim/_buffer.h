/*
 * A Python object owning malloc'd memory, readable through the buffer protocol (numpy.frombuffer, no copy);
 * shared by musim's C extensions (musim/ingest/_scan360k.c, musim/_cooccurrence.c). Each extension calls
 * PyType_Ready(&BufferType) when its module is created.
 */
#ifndef MUSIM_BUFFER_H
#define MUSIM_BUFFER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>

typedef struct {
    PyObject_HEAD
    char *data;
    Py_ssize_t nbytes;
} Buffer;

static void Buffer_dealloc(Buffer *self) {
    free(self->data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* A view holds a reference to the Buffer (PyBuffer_FillInfo), so the memory outlives every view. */
static int Buffer_getbuffer(Buffer *self, Py_buffer *view, int flags) {
    return PyBuffer_FillInfo(view, (PyObject *)self, self->data ? self->data : "", self->nbytes, 1, flags);
}

static PyBufferProcs Buffer_as_buffer = {(getbufferproc)Buffer_getbuffer, NULL};

static PyTypeObject BufferType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "musim.Buffer",
    .tp_doc = "Read-only bytes owned by C; wrap with numpy.frombuffer.",
    .tp_basicsize = sizeof(Buffer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)Buffer_dealloc,
    .tp_as_buffer = &Buffer_as_buffer,
};

/* A new Buffer that takes ownership of data (freed with the object, or here when the object cannot be made). */
static PyObject *buffer_from(void *data, size_t nbytes) {
    Buffer *b = PyObject_New(Buffer, &BufferType);
    if (!b) {
        free(data);
        return NULL;
    }
    b->data = data;
    b->nbytes = (Py_ssize_t)nbytes;
    return (PyObject *)b;
}

#endif
