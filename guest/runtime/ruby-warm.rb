# CodeCell warm Ruby launcher (guest/SPEC.md 3.6). Started ahead of a run as
# `ruby ruby-warm.rb` with RubyGems already loaded; blocks until the agent
# writes the rest of the stage's argv (`<script> [args...]`, NUL-separated) on
# fd 3, then runs the script the way `ruby <script> [args...]` would.
begin # primed: tell the agent (fd 4), then wait for the request (fd 3)
  ready = IO.new(4, 'wb')
  ready.write('r')
  ready.close
rescue StandardError
  nil # started by hand, without the agent's pipes
end
request = IO.new(3, 'rb')
data = request.read
request.close
exit 0 if data.empty? # never used: the agent discarded this process
script, *args = data.force_encoding(Encoding::UTF_8).split("\0", -1)
$PROGRAM_NAME = script
ARGV.replace(args)
launcher = File.expand_path(__FILE__)
begin
  load script
rescue SystemExit
  raise
rescue Exception => e # rubocop:disable Lint/RescueException -- reported like an uncaught exception
  e.set_backtrace(e.backtrace.reject { |line| line.start_with?(launcher) }) if e.backtrace
  raise e
end
