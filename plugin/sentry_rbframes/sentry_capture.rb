# uwsgi-sentry's Ruby side: an exception as uWSGI's backtrace array, as
# sentry_pyframes' sentry_capture.py makes it for Python. sentry_rbframes compiles
# this in and evaluates it once per process; `capture` runs in uWSGI's exception
# hook, in the worker, while the exception is the one being handled.
#
# Each frame is 5 items (u16le length, bytes): filename, line, function, text (left
# empty: the daemon reads the source lines), and a JSON object of our own:
#   {"a": absolute path, "i": in_app}               a frame
#   {"x": {type, module, value, id, parent, source, n}}  a cause, whose n frames follow
#   {"p": {runtime, sdk, req, root, thread, gems}}   the packet's facts, last
# Causes come first, oldest first, then the main exception's frames, oldest first.
# Frames are what sentry-ruby makes of them (Sentry::StacktraceInterface::Frame):
# in_app when the path matches ^(ROOT/)?(bin|exe|app|config|lib|test), ROOT being
# the working directory (config.ru's folder when that is /); the filename relative
# to ROOT for the app's frames, else to the longest $LOAD_PATH entry that holds it.
module UwsgiSentryCapture
  APP_DIRS = "(bin|exe|app|config|lib|test)"
  MAX_CAUSES = 10
  MAX_FRAMES = 250

  def self.quote(value)
    s = value.to_s.dup.force_encoding(Encoding::UTF_8)
    s = s.scrub("\uFFFD") unless s.valid_encoding?
    '"' + s.gsub(/["\\\u0000-\u001f]/) { |c| c == '"' ? '\\"' : c == "\\" ? "\\\\" : format("\\u%04x", c.ord) } + '"'
  end

  def self.item(out, value)
    data = value.to_s.b[0, 0xffff]
    out << [data.bytesize].pack("v") << data
  end

  # [absolute path, line, label], oldest first.
  def self.frames(exc)
    locations = exc.backtrace_locations
    rows = if locations
      locations.map { |l| [l.absolute_path || l.path, l.lineno, l.label] }
    else
      (exc.backtrace || []).map do |line|
        m = line.match(/\A(.+?):(\d+)(?::in [`'](.*)')?\z/)
        m ? [File.expand_path(m[1]), m[2].to_i, m[3]] : [line, 0, nil]
      end
    end
    rows.first(MAX_FRAMES).reverse
  end

  def self.filename(path, in_app, root)
    under_root = path.start_with?(root + "/")
    prefix = if under_root && in_app
      root
    else
      longest = $LOAD_PATH.map(&:to_s).select { |p| path.start_with?(p.chomp("/") + "/") }.max_by(&:size)
      longest || (under_root ? root : nil)
    end
    prefix ? path[prefix.chomp("/").size + 1..-1] : path
  end

  def self.sdk(exc)
    return nil unless defined?(::Sentry) && ::Sentry.respond_to?(:exception_captured?) && ::Sentry.exception_captured?(exc)
    "sentry.ruby/#{defined?(::Sentry::VERSION) ? ::Sentry::VERSION : '?'}"
  end

  def self.static_facts
    @static_facts ||= begin
      gems = defined?(::Gem::Specification) ? ::Gem::Specification.map { |s| [s.name, s.version.to_s] }.first(500) : []
      '"runtime":{"name":"ruby","version":' + quote(RUBY_VERSION) + ',"build":' + quote(RUBY_DESCRIPTION) + '},' \
        '"gems":{' + gems.map { |n, v| quote(n) + ":" + quote(v) }.join(",") + "}"
    end
  end

  def self.capture(exc, start_us, pid, core, app_dir = nil)
    root = Dir.pwd.chomp("/")
    root = app_dir.to_s.chomp("/") if root.empty? && app_dir  # uWSGI runs from / (no chdir): config.ru's folder
    in_app = Regexp.new("\\A(#{Regexp.escape(root)}/)?#{APP_DIRS}")
    chain = [exc]
    while (cause = chain.last.cause) && chain.size <= MAX_CAUSES && !chain.any? { |e| e.equal?(cause) }
      chain << cause
    end
    out = "".b
    chain.each_with_index.to_a.reverse.each do |e, n|
      rows = frames(e)
      if n > 0
        name = e.class.name.to_s
        mod = name.include?("::") ? name.split("::")[0...-1].join("::") : nil
        header = '{"x":{"type":' + quote(name) + ',"module":' + (mod ? quote(mod) : "null") + ',"value":' + quote(e.message.to_s[0, 8192]) +
                 ',"id":' + n.to_s + ',"parent":' + (n - 1).to_s + ',"source":"cause","n":' + rows.size.to_s + "}}"
        ["", "0", "", "", header].each { |i| item(out, i) }
      end
      rows.each do |path, line, label|
        app = !path.nil? && path.match?(in_app)
        [filename(path.to_s, app, root), line.to_s, label.to_s, "", '{"a":' + quote(path) + ',"i":' + app.to_s + "}"].each { |i| item(out, i) }
      end
    end
    s = sdk(exc)
    facts = '{"p":{' + static_facts + ',"sdk":' + (s ? quote(s) : "null") + ',"req":{"start_us":' + start_us.to_i.to_s +
            ',"pid":' + pid.to_i.to_s + ',"core":' + core.to_i.to_s + '},"root":' + quote(root) + ',"thread":' + Thread.current.object_id.to_s + "}}"
    ["", "0", "", "", facts].each { |i| item(out, i) }
    out
  end
end
