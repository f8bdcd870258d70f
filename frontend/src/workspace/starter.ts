/** The program a new workspace starts with: output, timing and stdin in a few lines. */
export const STARTER_PROGRAM = `# Welcome to CodeCell Live.
# Press Run (Ctrl+Enter) to run this file in a fresh microVM.
import platform
import time

print(f"Hello from Python {platform.python_version()} on {platform.machine()}!")

for step in range(1, 4):
    print(f"step {step} of 3")
    time.sleep(0.3)

name = input("What's your name? ")
print(f"Nice to meet you, {name}!")
`;
