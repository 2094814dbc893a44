# Tries: list the host's network interfaces with an ioctl on the job channel (fd 3).
# Must: be stopped by seccomp alone; work with every OS layer off.
import array, fcntl
buffer = array.array("B", bytes(4096))
request = array.array("B", (4096).to_bytes(8, "little") + buffer.buffer_info()[0].to_bytes(8, "little"))
fcntl.ioctl(3, 0x8912, request)  # SIOCGIFCONF
