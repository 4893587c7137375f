// pymetal's C++ exceptions as Python exceptions of the same names, in the same hierarchy, carrying the
// same facts as attributes (a compile error's diagnostics with line and column, a missing kernel's
// list of names, a failed command buffer's domain and code).
#include "bindings.hpp"

#include <pybind11/stl.h>

#include <exception>
#include <functional>

namespace pymetal_python {
namespace {

// The exception types live as long as the interpreter: module-level objects that are never freed
// (Python holds them too, as module attributes).
struct exception_types {
    py::handle error, load_error, objc_error, encoding_error, compile_error, function_not_found, buffer_error,
        dispatch_error, command_error, function_constant_error, texture_error;
};
exception_types types;

py::handle new_exception(py::module_& m, const char* name, py::handle base, const char* doc) {
    const std::string qualified = std::string("pymetal.") + name;
    PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base.ptr(), nullptr);
    if (!type) throw py::error_already_set();
      m.add_object(name, py::handle(type));  // the module takes a reference of its own; ours is never released
    return type;
}

// Raises `type(message)` with attributes set by `annotate`: Python code catches by class and reads the
// facts without parsing the message.
void raise(py::handle type, const char* message, const std::function<void(py::object&)>& annotate) {
    py::object exception = py::reinterpret_borrow<py::object>(type)(message);
    annotate(exception);
    PyErr_SetObject(type.ptr(), exception.ptr());
}

void set_objc_facts(py::object& e, const pymetal::objc_error& source) {
    e.attr("domain") = source.domain();
    e.attr("code") = source.code();
    e.attr("description") = source.description();
}

void translate(std::exception_ptr pending) {
    try {
        std::rethrow_exception(pending);
    } catch (const pymetal::compile_error& e) {
        raise(types.compile_error, e.what(), [&](py::object& x) {
            set_objc_facts(x, e);
            x.attr("diagnostics") = py::cast(e.diagnostics());
            x.attr("errors") = py::cast(e.errors());
            x.attr("log") = e.log();
            // The first error's position, for the common case of one mistake.
            const auto errors = e.errors();
            x.attr("line") = errors.empty() ? py::none() : py::cast(errors.front().line);
            x.attr("column") = errors.empty() ? py::none() : py::cast(errors.front().column);
        });
    } catch (const pymetal::command_error& e) {
        raise(types.command_error, e.what(), [&](py::object& x) {
            set_objc_facts(x, e);
            x.attr("status") = static_cast<unsigned long>(e.status());
        });
    } catch (const pymetal::objc_error& e) {
        raise(types.objc_error, e.what(), [&](py::object& x) { set_objc_facts(x, e); });
    } catch (const pymetal::function_not_found& e) {
        raise(types.function_not_found, e.what(), [&](py::object& x) {
            x.attr("name") = e.name();
            x.attr("available") = py::cast(e.available());
        });
    } catch (const pymetal::load_error& e) {
        raise(types.load_error, e.what(), [&](py::object& x) {
            x.attr("library") = e.library();
            x.attr("paths_tried") = py::cast(e.paths_tried());
            x.attr("hint") = e.hint();
        });
    } catch (const pymetal::encoding_error& e) {
        raise(types.encoding_error, e.what(), [&](py::object& x) {
            x.attr("selector") = e.selector();
            x.attr("expected") = e.expected();
            x.attr("actual") = e.actual();
        });
    } catch (const pymetal::buffer_error& e) {
        raise(types.buffer_error, e.what(), [](py::object&) {});
    } catch (const pymetal::dispatch_error& e) {
        raise(types.dispatch_error, e.what(), [](py::object&) {});
    } catch (const pymetal::function_constant_error& e) {
        raise(types.function_constant_error, e.what(), [](py::object&) {});
    } catch (const pymetal::texture_error& e) {
        raise(types.texture_error, e.what(), [](py::object&) {});
    } catch (const pymetal::error& e) {
        raise(types.error, e.what(), [](py::object&) {});
    }
    // Anything else goes on to pybind11's own translators (std::exception becomes RuntimeError).
}

}  // namespace

void bind_errors(py::module_& m) {
    py::class_<pymetal::diagnostic>(m, "Diagnostic", "One compiler message, parsed from Metal's "
                                                     "'program_source:LINE:COL: error: message' text.")
        .def_readonly("file", &pymetal::diagnostic::file, "'program_source' for source compiled from a string.")
        .def_readonly("line", &pymetal::diagnostic::line, "1-based line in the kernel source.")
        .def_readonly("column", &pymetal::diagnostic::column, "1-based column.")
        .def_readonly("severity", &pymetal::diagnostic::severity, "'error', 'warning', 'note' or 'fatal error'.")
        .def_readonly("message", &pymetal::diagnostic::message, "The message without its position.")
        .def("__repr__", [](const pymetal::diagnostic& d) {
            return d.file + ":" + std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.severity + ": " +
                   d.message;
        });

    types.error = new_exception(m, "error", PyExc_RuntimeError,
                                "Base of every pymetal failure (C++ pymetal::error).");
    types.load_error = new_exception(m, "load_error", types.error,
                                     "Metal (or softmetal, or the Objective-C runtime) could not be loaded. "
                                     "Attributes: library, paths_tried, hint.");
    types.objc_error = new_exception(m, "objc_error", types.error,
                                     "An NSError from Metal or Foundation. Attributes: domain, code, description.");
    types.encoding_error = new_exception(m, "encoding_error", types.error,
                                         "A message's C++ signature disagrees with the method's type encoding. "
                                         "Attributes: selector, expected, actual.");
    types.compile_error = new_exception(m, "compile_error", types.objc_error,
                                        "Metal could not compile the kernel source. Attributes: diagnostics "
                                        "(list of Diagnostic with line and column), errors (only the errors), "
                                        "line and column (of the first error, or None), log (the full text), "
                                        "domain, code, description.");
    types.function_not_found = new_exception(m, "function_not_found", types.error,
                                             "The library defines no kernel of that name. Attributes: name, "
                                             "available (the names it does define).");
    types.buffer_error = new_exception(m, "buffer_error", types.error,
                                       "A buffer could not be created, or an access would overrun it.");
    types.dispatch_error = new_exception(m, "dispatch_error", types.error,
                                         "A dispatch refused before it reached Metal (threadgroup over the "
                                         "kernel's limit, buffer smaller than stated, two arguments at one index).");
    types.function_constant_error = new_exception(m, "function_constant_error", types.error,
                                                  "Function constants that do not fit the kernel's declarations: a "
                                                  "value of the wrong Metal type, or a required constant missing.");
    types.texture_error = new_exception(m, "texture_error", types.error,
                                        "A texture or sampler that cannot be made, or an upload or download that does "
                                        "not fit the texture (element type, size, mipmap level).");
    types.command_error = new_exception(m, "command_error", types.objc_error,
                                        "A command buffer that Metal ran and that failed. Attributes: status, "
                                        "domain, code, description.");
    py::register_exception_translator(translate);
}

}  // namespace pymetal_python
