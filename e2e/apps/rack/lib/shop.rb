# The app's own code: a payment that fails two calls deep, with its causes.
module Shop
  class PaymentError < StandardError; end
  class GatewayError < StandardError; end

  class Checkout
    def pay(amount)
      charge(amount)
    end

    def charge(amount)
      gateway(amount)
    rescue GatewayError
      raise PaymentError, "card declined for #{amount}"
    end

    def gateway(amount)
      Integer("x#{amount}")
    rescue ArgumentError
      raise GatewayError, "gateway timed out"
    end
  end
end
