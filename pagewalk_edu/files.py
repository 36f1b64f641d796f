"""Reading and writing the files a user names: bounded reads, and the one
atomic writer every file the package writes goes through (`--save`, `--svg`,
`--png`, the Explorer's Save).

The writer never leaves half a file and never replaces what it should not:

- it writes a temporary file in the target's folder, fsyncs it, and only then
  puts it in place, so a full disk or a kill leaves the old file as it was
  (and never a 0-byte file under the target's name);
- creating a name that does not exist yet is a link(2) of the temporary file,
  which fails atomically if the name appeared meanwhile (two saves at once:
  one wins, the other is told the file exists), where a check-then-rename
  would let one silently replace the other;
- it refuses, before opening anything for writing, a target that is not a
  regular file (a device, a FIFO, a socket, a folder); a symbolic link is
  followed to the regular file it names, whose content is replaced, and a
  link that dangles or loops is refused; the link itself is never replaced;
- the temporary name is short (`.pw-XXXXXXXX.tmp`), so a target of any legal
  name length (up to 255 bytes) can be written.

Every error is one line naming the path, in words: ValueError for a target
of the wrong kind, FileExistsError when the target exists and overwrite is
off, FileError (an OSError) for what the system refused (no such folder,
permission denied, no space left on device, file name too long).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from .console import echo

MAX_BYTES = 1 << 20  # files the user loads are bounded in size


class FileError(OSError):
    """What the system refused, on a path the user named: one line."""

    def __init__(self, code: int | None, message: str, filename: str | None = None) -> None:
        super().__init__(code, message)
        self.message = message
        self.filename = filename

    def __str__(self) -> str:
        return self.message


class TargetExists(FileError, FileExistsError):
    """The target exists and overwrite was not asked for."""


def reason(err: OSError) -> str:
    """An OSError's reason in words: 'no space left on device'."""
    words = err.strerror or os.strerror(err.errno) if err.errno else (err.strerror or str(err))
    return (words or type(err).__name__)[:1].lower() + (words or type(err).__name__)[1:]


def user_path(path, role: str = "file") -> str:
    """The path as text; an empty name or one with a NUL byte is a ValueError."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"a path must be a string or a pathlib.Path, got {type(path).__name__}")
    text = os.fspath(path)
    if not isinstance(text, str):
        text = os.fsdecode(text)
    if not text:
        raise ValueError(f"an empty {role} name; give the path of a {role}")
    if "\x00" in text:
        raise ValueError(f"{echo(text)}: a file name cannot contain a NUL byte")
    return text


# --- reading -----------------------------------------------------------------------------------


def read_user_text(path, kind: str = "JSON file") -> str:
    """The text of a file the user gave: at most MAX_BYTES (1 MiB) of UTF-8 (a
    leading byte-order mark is dropped); a missing, unreadable, oversized or
    binary file, or one that is not a regular file (a device, a pipe), is a
    one-line ValueError."""
    name = user_path(path, kind)
    shown = echo(name)
    p = Path(name)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ValueError(f"{shown}: no such file") from None
    except OSError as err:
        raise ValueError(f"{shown}: cannot read it ({reason(err)})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{shown}: is a directory, not a {kind}")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{shown}: not a regular file (a device, pipe or socket); give a {kind}")
    if st.st_size > MAX_BYTES:
        raise ValueError(f"{shown}: {st.st_size} bytes is larger than the {MAX_BYTES} bytes (1 MiB) accepted")
    try:
        # O_NONBLOCK: should a pipe replace the file after the check, opening it does not hang
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ValueError(f"{shown}: not a regular file (a device, pipe or socket); give a {kind}")
            data = f.read(MAX_BYTES + 1)  # the bound holds even if the file grows meanwhile
    except OSError as err:
        raise ValueError(f"{shown}: cannot read it ({reason(err)})") from None
    if len(data) > MAX_BYTES:
        raise ValueError(f"{shown}: larger than the {MAX_BYTES} bytes (1 MiB) accepted")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise ValueError(f"{shown}: not UTF-8 text") from None


# --- writing -----------------------------------------------------------------------------------


def check_target(path, overwrite: bool = False, what: str = "file") -> str:
    """Where a write of `path` would land, checked before anything is opened:
    the path itself, or the regular file a symbolic link there names.

    ValueError for a folder, a device, a FIFO, a socket, a dangling or looping
    link, or a name ending in '/'; TargetExists when there is a file and not
    `overwrite`; FileError when its folder is missing or cannot be searched."""
    name = user_path(path, what)
    shown = echo(name)
    if name.endswith(os.sep) or (os.altsep and name.endswith(os.altsep)):
        raise ValueError(f"{shown}: ends with '/', so it names a folder; give the name of a {what} to save to")
    try:
        st = os.lstat(name)
    except FileNotFoundError:
        _check_folder(name)
        return name
    except NotADirectoryError:
        raise _not_a_folder(name) from None
    except OSError as err:
        raise _error(err, name) from None
    target = name
    if stat.S_ISLNK(st.st_mode):
        try:
            st = os.stat(name)
        except FileNotFoundError:
            raise ValueError(f"{shown}: is a symbolic link to {echo(os.readlink(name))}, which does not exist; "
                             f"refusing to write through it (remove the link or give another name)") from None
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise ValueError(f"{shown}: is a symbolic link that loops; refusing to write through it") from None
            raise _error(err, name) from None
        target = os.path.realpath(name)
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{shown}: is a directory; give the name of a {what} to save to")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{shown}: not a regular file (a device, pipe or socket); only a regular file is "
                         f"ever replaced, so give another name")
    if not overwrite:
        raise TargetExists(errno.EEXIST, f"{shown} exists; pass overwrite=True to replace it", name)
    return target


def write_atomic(path, data: bytes | str, *, overwrite: bool = False, what: str = "file") -> str:
    """Write `data` (text is UTF-8) to `path` so that a crash, a kill or a full
    disk leaves either the old file or the new one; return where it landed.

    Without `overwrite` the name is created with link(2), so an existing name,
    even one created a moment ago by another writer, is never replaced
    (TargetExists).  With it, only a regular file (or one a symbolic link
    names) is replaced, by rename(2)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes or str, got {type(data).__name__}")
    target = check_target(path, overwrite, what)
    name = os.fspath(path) if not isinstance(path, bytes) else os.fsdecode(path)
    folder = os.path.dirname(target) or "."
    mode = None
    if overwrite:
        try:
            mode = os.stat(target).st_mode & 0o777  # a replaced file keeps its permissions
        except FileNotFoundError:
            pass
        except OSError as err:
            raise _error(err, name) from None
    fd, tmp = _create_temporary(folder, name)
    try:
        try:
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as f:
                fd = -1
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            if mode is not None:
                _replace(tmp, target, name)
            elif not overwrite:
                _link_new(tmp, target, name)
            else:
                try:
                    _link_new(tmp, target, name)
                except TargetExists:  # it appeared meanwhile, and replacing it is what was asked
                    _replace(tmp, target, name)
        except TargetExists:
            raise
        except OSError as err:
            raise _error(err, name) from None
    finally:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        except OSError:
            pass
    _fsync_folder(folder)
    return target


def _check_folder(name: str) -> None:
    folder = os.path.dirname(name) or "."
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        raise FileError(errno.ENOENT, f"cannot write {echo(name)}: folder {echo(folder)} does not exist", name) from None
    except NotADirectoryError:
        raise _not_a_folder(name) from None
    except OSError as err:
        raise _error(err, name) from None
    if not stat.S_ISDIR(st.st_mode):
        raise FileError(errno.ENOTDIR, f"cannot write {echo(name)}: {echo(folder)} is not a folder", name)


def _not_a_folder(name: str) -> FileError:
    """ENOTDIR: name the part of the path that is a file, not a folder."""
    part = os.path.dirname(name)
    while part and part != os.path.dirname(part):
        if os.path.lexists(part) and not os.path.isdir(part):
            return FileError(errno.ENOTDIR, f"cannot write {echo(name)}: {echo(part)} is not a folder", name)
        part = os.path.dirname(part)
    return FileError(errno.ENOTDIR, f"cannot write {echo(name)}: a part of the path is not a folder", name)


def _error(err: OSError, name: str) -> FileError:
    if isinstance(err, FileError):
        return err
    return FileError(err.errno, f"cannot write {echo(name)}: {reason(err)}", name)


def _create_temporary(folder: str, name: str) -> tuple[int, str]:
    """A new file in `folder`, named so that it fits any file system's 255-byte
    limit; its mode is 0666 less the umask, as any new file's."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".pw-{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as err:
            raise _error(err, name) from None
    raise FileError(errno.EEXIST, f"cannot write {echo(name)}: no free temporary name in {echo(folder)}", name)


def _link_new(tmp: str, target: str, name: str) -> None:
    """Give the finished temporary file its name, failing if the name exists."""
    try:
        os.link(tmp, target, follow_symlinks=False)
        return
    except FileExistsError:
        raise TargetExists(errno.EEXIST, f"{echo(name)} exists; pass overwrite=True to replace it", name) from None
    except AttributeError:  # no link(2) at all: Python in WebAssembly (the in-browser course)
        pass
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS):
            raise
    # A file system without hard links (FAT, some network and FUSE mounts):
    # rename(2) with RENAME_NOREPLACE is as atomic, where the kernel has it.
    if _rename_noreplace(tmp, target, name):
        return
    # Last resort: claim the name with O_EXCL, then rename over the claim.
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666))
    except FileExistsError:
        raise TargetExists(errno.EEXIST, f"{echo(name)} exists; pass overwrite=True to replace it", name) from None
    os.replace(tmp, target)


def _rename_noreplace(tmp: str, target: str, name: str) -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError, TypeError):  # no such call in this C library (or no C library)
        return False
    at_fdcwd, rename_noreplace = -100, 1
    if renameat2(at_fdcwd, os.fsencode(tmp), at_fdcwd, os.fsencode(target), rename_noreplace) == 0:
        return True
    code = ctypes.get_errno()
    if code == errno.EEXIST:
        raise TargetExists(errno.EEXIST, f"{echo(name)} exists; pass overwrite=True to replace it", name)
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), target)


def _replace(tmp: str, target: str, name: str) -> None:
    """rename(2) over a regular file, looked at again just before: a FIFO or a
    device put there since the first check is still not replaced."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        _link_new(tmp, target, name)  # it went away: create it, still without replacing anything
        return
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{echo(name)}: not a regular file (a device, pipe or socket); only a regular file is "
                         f"ever replaced, so give another name")
    os.replace(tmp, target)


def _fsync_folder(folder: str) -> None:
    """Make the new name durable too (a file system may not support it)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = ["MAX_BYTES", "FileError", "TargetExists", "check_target", "read_user_text", "reason", "user_path",
           "write_atomic"]
