# A Rack app that fails the way uwsgi-sentry reports on: an exception escaping
# through two of our own methods.
module Shop
  class PaymentError < StandardError; end

  def self.inner_boom(amount)
    raise PaymentError, "card declined for #{amount}"
  end

  def self.outer(amount)
    inner_boom(amount)
  end
end

run lambda { |env|
  if env["PATH_INFO"] == "/pay"
    Shop.outer(env["QUERY_STRING"])
  end
  [200, { "content-type" => "text/plain" }, ["ok\n"]]
}
