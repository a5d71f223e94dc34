"""threadpoolctl support: threadpool_info() lists gradtape's kernel pool and threadpool_limits()
limits it, beside OpenBLAS's and OpenMP's pools (docs/guides/threads.md).

threadpoolctl (>= 3.5) takes third-party controllers through threadpoolctl.register(cls): a
LibController subclass that names the shared library's filename prefix, and calls C functions
of that library through ctypes. The library here is the extension module itself
(gradtape/_core.<tag>.so), which exports gradtape_get_num_threads, gradtape_set_num_threads and
gradtape_get_version (python/bindings/module.cpp) for this.

Importing threadpoolctl costs 20-50 ms, more than half of gradtape's own import, so gradtape does
not import it. install() (called by gradtape/__init__.py) registers the controller at once when
threadpoolctl is already imported, and otherwise puts a finder on sys.meta_path that finds
nothing itself: when `import threadpoolctl` happens later, it lets the usual finders find the
module, runs it, and registers the controller right after. Its cost to gradtape's import is
this module (no other import); to each later import of another module, one string comparison.
"""
import sys

USER_API = "gradtape"
_SYMBOLS = ("gradtape_get_num_threads", "gradtape_set_num_threads", "gradtape_get_version")


def _register(threadpoolctl):
    """Registers gradtape's controller with threadpoolctl (a module); False when this
    threadpoolctl has no register() (before 3.5)."""
    register = getattr(threadpoolctl, "register", None)
    if register is None or any(c.user_api == USER_API for c in getattr(threadpoolctl, "_ALL_CONTROLLERS", ())):
        return register is not None
    import ctypes

    class GradtapeController(threadpoolctl.LibController):
        """gradtape's kernel pool (gt.config.set_num_threads) for threadpoolctl."""

        user_api = USER_API
        internal_api = "gradtape"
        # The extension's file, _core.cpython-311-x86_64-linux-gnu.so and its kin: a common
        # name, so the symbols decide (threadpoolctl keeps a matching library only when it has
        # one of check_symbols).
        filename_prefixes = ("_core.",)
        check_symbols = _SYMBOLS

        def get_num_threads(self):
            get = getattr(self.dynlib, "gradtape_get_num_threads", None)
            return None if get is None else int(get())

        def set_num_threads(self, num_threads):
            set_ = getattr(self.dynlib, "gradtape_set_num_threads", None)
            if set_ is not None:
                set_.argtypes = [ctypes.c_int]
                set_(max(1, int(num_threads)))

        def get_version(self):
            get = getattr(self.dynlib, "gradtape_get_version", None)
            if get is None:
                return None
            get.restype = ctypes.c_char_p
            return get().decode()

    register(GradtapeController)
    return True


def _register_quietly(module):
    try:
        _register(module)
    except Exception as e:  # never break the user's `import threadpoolctl`
        import warnings
        warnings.warn("gradtape could not register its thread pool with threadpoolctl: %r" % (e,),
                      RuntimeWarning, stacklevel=2)


class _Loader:
    """Wraps threadpoolctl's own loader: runs the module, then registers the controller. The
    module's __loader__ and __spec__.loader are the original loader again before it runs."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._loader
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self._loader
        self._loader.exec_module(module)
        _uninstall_finder()
        _register_quietly(module)

    def __getattr__(self, name):  # get_source, get_data, is_package, ...
        if name == "_loader":
            raise AttributeError(name)
        return getattr(self._loader, name)


class _ThreadpoolctlFinder:
    """On sys.meta_path until threadpoolctl is imported; finds no module itself. (It stays
    when threadpoolctl is only looked up, as importlib.util.find_spec does, without running.)"""

    def find_spec(self, name, path=None, target=None):
        if name != "threadpoolctl":
            return None
        spec = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                break
        if spec is None:  # not installed: stay, in case it is installed later
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _Loader(spec.loader)
        return spec


def _uninstall_finder():
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _ThreadpoolctlFinder)]


def install():
    """Registers now if threadpoolctl is imported, else when it is."""
    module = sys.modules.get("threadpoolctl")
    if module is not None:
        _register_quietly(module)
    elif not any(isinstance(f, _ThreadpoolctlFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _ThreadpoolctlFinder())
