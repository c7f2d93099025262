using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace OcpTalkdesk.Gateway.Configuration;

/// <summary>
/// An options monitor that keeps the last good options when a configuration change makes them invalid.
/// </summary>
/// <remarks>
/// Written by hand because no library does it: the framework's <see cref="OptionsMonitor{TOptions}"/> caches the failed
/// creation, so after one bad edit every read throws (every event answered 500, measured) until the file is fixed.
/// This one uses the framework's own factory, cache and change-token sources; it differs only in what a failed
/// rebuild returns. The first creation still throws, so a bad setting at start-up stops the process as before.
/// </remarks>
internal sealed class LastGoodOptionsMonitor<TOptions> : IOptionsMonitor<TOptions>, IDisposable
    where TOptions : class
{
    private readonly IOptionsFactory<TOptions> _factory;
    private readonly IOptionsMonitorCache<TOptions> _cache;
    private readonly ConfigurationReloads _reloads;
    private readonly ConcurrentDictionary<string, TOptions> _lastGood = new(StringComparer.Ordinal);
    private readonly Func<TOptions> _createDefault;
    private readonly ConcurrentDictionary<string, Func<TOptions>> _createNamed = new(StringComparer.Ordinal);
    private readonly Func<string, Func<TOptions>> _newCreate;
    private readonly List<IDisposable> _registrations = [];
    private event Action<TOptions, string?>? Changed;

    public LastGoodOptionsMonitor(IOptionsFactory<TOptions> factory, IEnumerable<IOptionsChangeTokenSource<TOptions>> sources,
        IOptionsMonitorCache<TOptions> cache, ConfigurationReloads reloads)
    {
        _factory = factory;
        _cache = cache;
        _reloads = reloads;
        // Made once (per name): the options are read on every event and reading must not allocate.
        _createDefault = () => Create(Options.DefaultName);
        _newCreate = name => () => Create(name);
        foreach (var source in sources)
        {
            _registrations.Add(ChangeToken.OnChange(source.GetChangeToken, InvokeChanged, source.Name ?? Options.DefaultName));
        }
    }

    public TOptions CurrentValue => _cache.GetOrAdd(Options.DefaultName, _createDefault);

    public TOptions Get(string? name) =>
        name is null || name.Length == 0 ? CurrentValue : _cache.GetOrAdd(name, _createNamed.GetOrAdd(name, _newCreate));

    public IDisposable? OnChange(Action<TOptions, string?> listener)
    {
        Changed += listener;
        return new Subscription(() => Changed -= listener);
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }

    private void InvokeChanged(string name)
    {
        _cache.TryRemove(name);
        var options = Get(name);
        Changed?.Invoke(options, name);
    }

    private TOptions Create(string name)
    {
        var key = typeof(TOptions).Name + (name.Length == 0 ? string.Empty : ":" + name);
        try
        {
            var options = _factory.Create(name);
            _lastGood[name] = options;
            _reloads.Accepted(key);
            return options;
        }
        catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException && _lastGood.TryGetValue(name, out var good))
        {
            // A binding error (a value that is not a number, a time span...) is an InvalidOperationException naming the key.
            _reloads.Rejected(key, ex.Message);
            return good;
        }
    }

    private sealed class Subscription(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
