"""Writing a file so that nobody ever sees half of it: :func:`atomic_write`.

Model files, downloaded datasets and plots are all written the same way: to a new temporary
file in the target's folder, flushed to disk, then renamed over the target (``os.replace`` is
atomic within a folder), so a reader sees the previous file or the new one, whole, and an
interrupted write (Ctrl-C, a full disk, an exception) leaves the previous file untouched.

The temporary file is named ``.{target}.{host}-{pid}.{random}.tmp``. A write killed outright
(SIGKILL, a power cut) cannot remove it, so each write first removes the temporaries of its
target whose writer process, on this host, no longer exists; live writers' files, other hosts'
and other targets' are left alone.
"""

import contextlib
import errno
import hashlib
import os
import re
import secrets
import socket


def _host_tag():
    """8 hex digits naming this host, this boot of it and its process-id namespace (a container's
    ids are its own): the scope within which a temporary file's process id can be looked up. The
    boot id tells apart machines that share a host name and a folder (the root namespace has the
    same name on every Linux machine)."""
    parts = [socket.gethostname()]
    try:
        parts.append(os.readlink("/proc/self/ns/pid"))
    except (OSError, AttributeError):
        parts.append("")
    try:
        with open("/proc/sys/kernel/random/boot_id") as file:
            parts.append(file.read().strip())
    except OSError:
        parts.append("")
    return hashlib.sha256("/".join(parts).encode("utf-8", "replace")).hexdigest()[:8]


_HOST = _host_tag()


@contextlib.contextmanager
def atomic_write(path):
    """Yields a binary file open on a new temporary file beside ``path``; when the block ends
    normally the file is flushed to disk and renamed over ``path`` (over the file a symbolic link
    names, not the link); when it raises (Ctrl-C included), the temporary file is removed and
    ``path`` is as it was.

    Raises:
        OSError: when the folder cannot be written, naming ``path`` (not the temporary file).
    """
    path = os.path.realpath(os.fspath(path))  # through a symbolic link, to the file it names
    _remove_stale_temporaries(path)
    try:
        descriptor, temporary = _create_temporary(path)
    except OSError as error:  # name the target, not the temporary file the user never chose
        raise type(error)(error.errno, f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(descriptor, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    _sync_folder(os.path.dirname(os.path.abspath(path)))


def temporary_name(path, pid=None):
    """The path of a new temporary file for a write to ``path`` by process ``pid`` (this one):
    ``.{name}.{host}-{pid}.{random}.tmp`` in the target's folder."""
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    pid = os.getpid() if pid is None else pid
    return os.path.join(folder, f".{name}.{_HOST}-{pid}.{secrets.token_hex(6)}.tmp")


def _process_exists(pid):
    if os.name != "posix":  # NOTE: on Windows os.kill(pid, 0) would terminate the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # EPERM: it exists, owned by someone else; or no such id here
        return True
    return True


def _remove_stale_temporaries(path):
    """Removes the temporary files of writes to ``path`` whose writer (on this host) has exited:
    what a write killed before its rename leaves. Live writers' files, other hosts' (whose process
    ids mean nothing here), other targets' and all other files are kept."""
    folder, name = os.path.split(os.path.abspath(path))
    pattern = re.compile(rf"\.{re.escape(name)}\.{_HOST}-([1-9]\d{{0,9}})\.[0-9a-f]+\.tmp")
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match and not _process_exists(int(match.group(1))):
            try:
                os.remove(os.path.join(folder, entry))
            except OSError:  # another writer removed it first, or it is not ours to remove
                pass


def _create_temporary(path):
    """Opens a new temporary file for a write to ``path``, created as ``open`` creates files
    (mode 0o666 less the umask, not mkstemp's 0o600, which the renamed file would keep)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temporary = temporary_name(path)
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary file name", temporary)


def _sync_folder(folder):
    """Flushes the folder's entry for the renamed file to disk, where the platform allows."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
