"""gt.config.experimental: the parts of tf.config.experimental a CPU-only program calls: device
lists, determinism and TensorFloat-32 switches (gradtape is always deterministic and always
computes float32 in full float32), and memory growth, which only GPUs have.
"""
from ._function import functions_run_eagerly, run_functions_eagerly  # noqa: F401
from .eager import PhysicalDevice, list_logical_devices, list_physical_devices  # noqa: F401

__all__ = ["list_physical_devices", "list_logical_devices", "get_visible_devices", "set_visible_devices",
           "enable_op_determinism", "enable_tensor_float_32_execution", "tensor_float_32_execution_enabled",
           "set_memory_growth", "get_memory_growth", "get_device_details"]

_tf32 = [True]


def get_visible_devices(device_type=None):
    """The devices ops may run on: this machine's CPU (tf.config.get_visible_devices).

    >>> gt.config.get_visible_devices("GPU")
    []
    """
    return list_physical_devices(device_type)


def set_visible_devices(devices, device_type=None):
    """Accepts the CPU (or no device) as TensorFlow does; gradtape always runs on the CPU, so
    hiding devices changes nothing (tf.config.set_visible_devices). A device that is not one of
    list_physical_devices() raises ValueError.

    >>> gt.config.set_visible_devices([], "GPU")
    """
    devices = [devices] if isinstance(devices, PhysicalDevice) else list(devices)
    for d in devices:
        if not isinstance(d, PhysicalDevice) or d.device_type != "CPU":
            raise ValueError("Unrecognized device: %r" % (d,))


def enable_op_determinism():
    """Does nothing: gradtape's ops are deterministic already (reductions add in an order that
    depends only on the length; tf.config.experimental.enable_op_determinism).

    >>> gt.config.experimental.enable_op_determinism()
    """


def enable_tensor_float_32_execution(enabled):
    """Stores the switch; gradtape never uses TensorFloat-32 (a GPU format), so float32 stays
    float32 whatever it says.

    >>> gt.config.experimental.enable_tensor_float_32_execution(True)
    """
    _tf32[0] = bool(enabled)


def tensor_float_32_execution_enabled():
    """The stored TensorFloat-32 switch (True by default, as TensorFlow's).

    >>> gt.config.experimental.tensor_float_32_execution_enabled()
    True
    """
    return _tf32[0]


def set_memory_growth(device, enable):
    """ValueError, as TensorFlow on a CPU: memory growth is a GPU setting.

    >>> try:
    ...     gt.config.experimental.set_memory_growth(gt.config.list_physical_devices()[0], True)
    ... except ValueError as e:
    ...     print(e)
    Cannot set memory growth on non-GPU and non-Pluggable devices
    """
    raise ValueError("Cannot set memory growth on non-GPU and non-Pluggable devices")


def get_memory_growth(device):
    """KeyError, as TensorFlow for a CPU: it has no memory-growth setting.

    >>> try:
    ...     gt.config.experimental.get_memory_growth(gt.config.list_physical_devices()[0])
    ... except KeyError:
    ...     print("no setting")
    no setting
    """
    raise KeyError(device)


def get_device_details(device):
    """{}: TensorFlow reports details (name, compute capability) for GPUs only.

    >>> gt.config.experimental.get_device_details(gt.config.list_physical_devices()[0])
    {}
    """
    return {}
