"""The agent's half of the host protocol (guest/SPEC.md section 1): the one copy
of the frame numbers and timing constants in the guest. The host's copy is
packages/protocol/src/agentFrames.ts; a unit test checks the two agree.
"""

PROTOCOL_VERSION = 4

T_READY = 1
T_EXEC = 2
T_STDIN = 3
T_SIGNAL = 4
T_STDOUT = 5
T_STDERR = 6
T_EXIT = 7
T_RESEED = 8
T_ERROR = 9
T_PING = 10
T_PONG = 11
T_STAGE = 12
T_PRIME = 13
T_FILE = 14
T_CONTENT = 15
T_RESIZE = 16

# Largest frame the agent accepts from the host (files travel inside exec).
MAX_HOST_FRAME = 64 * 1024 * 1024
# Largest read from a pipe or the channel, and so the largest data frame body.
CHUNK = 64 * 1024
VSOCK_PORT = 1024
# After a stage's main process exits, output of what it left behind is read
# for this long, then its cgroup is killed (SPEC 3.4).
DRAIN_AFTER_EXIT_S = 0.25
