# A Rack app that fails the way uwsgi-sentry reports on: an exception raised two
# calls deep in the app's own lib/ (with two causes), through a middleware of the
# rack gem. WITH_SENTRY_RUBY: the app runs sentry-ruby itself (Debian's
# ruby-sentry-ruby) with its Rack middleware, to SENTRY_RUBY_DSN.
$LOAD_PATH.unshift(File.join(__dir__, "lib"))
require "shop"

if ENV["WITH_SENTRY_RUBY"]
  require "sentry-ruby"
  Sentry.init do |config|
    config.dsn = ENV["SENTRY_RUBY_DSN"]
    # Sent as it is captured: under uWSGI's rack plugin sentry-ruby's background
    # threads never get to send (bench/rack_cost.py measures both).
    config.background_worker_threads = Integer(ENV.fetch("SENTRY_RUBY_THREADS", "0"))
  end
  use Sentry::Rack::CaptureExceptions
end
use Rack::ContentLength

run lambda { |env|
  if env["PATH_INFO"] == "/pay"
    Shop::Checkout.new.pay(env["QUERY_STRING"])
  end
  [200, { "content-type" => "text/plain" }, ["ok\n"]]
}
