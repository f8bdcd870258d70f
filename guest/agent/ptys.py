"""Pseudo-terminals for TTY runs and terminal sessions (guest/SPEC.md 3.10).

The agent opens the pty (the guest kernel's devpts), sizes it and keeps its
master; the stage's child opens the slave by path, which makes it the child's
controlling terminal (the child is a session leader without one), and puts it
on fds 0, 1 and 2. The kernel's line discipline then does what a terminal
does: echo, line editing, Ctrl+C/Ctrl+Z as SIGINT/SIGTSTP to the foreground
process group, Ctrl+D as end of file, `\\n` written as `\\r\\n`, and SIGWINCH
when the size changes (TIOCSWINSZ on the master).

The agent holds its own slave fd until the stage's main process exits, so the
master never reads as hung up while the child is still on its way to opening
the slave; after that, the master reads EIO once every process that had the
terminal is gone (the agent's end of output, like EOF on a pipe).
"""
import fcntl
import os
import struct
import termios

USER_UID = USER_GID = 1000
# What a terminal session's programs see as $TERM: the browser renders with
# xterm.js, which implements xterm's control sequences.
TERM = "xterm-256color"
# End of file typed at a terminal (VEOF); what closing a TTY run's stdin sends.
EOF_CHAR = b"\x04"
MAX_SIZE = 1000


def _winsize(cols, rows):
    return struct.pack("HHHH", rows, cols, 0, 0)


def check_size(size):
    """The `{cols, rows}` of a request, each 1..MAX_SIZE (the host checks it too)."""
    cols, rows = int(size["cols"]), int(size["rows"])
    if not (0 < cols <= MAX_SIZE and 0 < rows <= MAX_SIZE):
        raise ValueError("terminal size %dx%d is out of range" % (cols, rows))
    return cols, rows


def open_pty(cols, rows):
    """A new pty of that size: (master fd, the agent's slave fd, slave path), owned by the run's user."""
    master, slave = os.openpty()
    try:
        path = os.ttyname(slave)
        os.chown(path, USER_UID, USER_GID)
        os.chmod(path, 0o620)
        fcntl.ioctl(master, termios.TIOCSWINSZ, _winsize(cols, rows))
        os.set_blocking(master, False)
    except BaseException:
        os.close(master)
        os.close(slave)
        raise
    return master, slave, path


def resize(master, cols, rows):
    """Sets the size; the kernel sends SIGWINCH to the foreground process group if it changed."""
    fcntl.ioctl(master, termios.TIOCSWINSZ, _winsize(cols, rows))


def attach(path):
    """In the stage's child (a session leader, still root): the slave becomes its controlling terminal and stdio."""
    fd = os.open(path, os.O_RDWR)
    fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
    for target in (0, 1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)
