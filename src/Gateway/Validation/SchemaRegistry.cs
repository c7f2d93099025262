using System.Collections.Frozen;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using OcpTalkdesk.Gateway.Metrics;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// Holds the schemas in force and loads them again when the configuration or a schema file changes.
/// A bad change (invalid options, a missing or broken schema file) is logged naming the key and file,
/// counted, shown by <c>/readyz</c> as degraded, and the last good catalog stays in force. It listens
/// to the configuration itself rather than to <see cref="IOptionsMonitor{TOptions}"/>, because the
/// monitor throws on an invalid reload and never tells its listeners why.
/// </summary>
internal sealed class SchemaRegistry : IDisposable
{
    private readonly IConfiguration _configuration;
    private readonly IValidateOptions<ValidationOptions> _validator;
    private readonly ILogger<SchemaRegistry> _logger;
    private readonly GatewayMetrics _metrics;
    private readonly IDisposable _configSubscription;
    private readonly Lock _watchLock = new();
    private readonly Lock _reloadLock = new();
    private List<PhysicalFileProvider> _watchers = [];
    private IDisposable? _fileSubscription;
    private volatile EventCatalog _current;
    private volatile string? _lastRejection;
    private long _rejectedReloads;

    public SchemaRegistry(IOptions<ValidationOptions> options, IConfiguration configuration,
        IValidateOptions<ValidationOptions> validator, GatewayMetrics metrics, ILogger<SchemaRegistry> logger)
    {
        _configuration = configuration;
        _metrics = metrics;
        _validator = validator;
        _logger = logger;
        // At start-up the options validator has already loaded every schema (ValidateOnStart).
        _current = Compile(options.Value);
        ValidationLog.SchemasLoaded(_logger, _current.AcceptedEventTypes.Count);
        WatchSchemaFiles(options.Value);
        _configSubscription = ChangeToken.OnChange(configuration.GetReloadToken, Reload);
    }

    /// <summary>The catalog in force.</summary>
    public EventCatalog Current => _current;

    /// <summary>Why the last change was refused, or null when the newest configuration is in force.</summary>
    public string? LastRejection => _lastRejection;

    /// <summary>How many configuration or schema-file changes were refused since start.</summary>
    public long RejectedReloads => Interlocked.Read(ref _rejectedReloads);

    public void Dispose()
    {
        _configSubscription.Dispose();
        lock (_watchLock)
        {
            _fileSubscription?.Dispose();
            foreach (var watcher in _watchers)
            {
                watcher.Dispose();
            }
        }
    }

    /// <summary>Raised after every reload attempt, applied or refused (tests wait on it instead of sleeping).</summary>
    public event Action? Reloaded;

    internal void Reload()
    {
        lock (_reloadLock)
        {
            ReloadLocked();
        }

        Reloaded?.Invoke();
    }

    private void ReloadLocked()
    {
        var options = new ValidationOptions();
        try
        {
            _configuration.GetSection(ValidationOptions.SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            Reject(ex.Message);
            return;
        }

        var result = _validator.Validate(Options.DefaultName, options);
        if (result.Failed)
        {
            Reject(result.FailureMessage);
            WatchSchemaFiles(options);
            return;
        }

        try
        {
            _current = Compile(options);
            _lastRejection = null;
            ValidationLog.SchemasLoaded(_logger, _current.AcceptedEventTypes.Count);
        }
        catch (SchemaLoadException ex)
        {
            Reject(ex.Message);
        }

        WatchSchemaFiles(options);
    }

    private void Reject(string reason)
    {
        _lastRejection = reason;
        Interlocked.Increment(ref _rejectedReloads);
        ValidationLog.ReloadRejected(_logger, reason);
        _metrics.ConfigReloadRejected();
    }

    /// <summary>
    /// Watches each configured schema file, so an edit takes effect without touching appsettings.json.
    /// (Set DOTNET_USE_POLLING_FILE_WATCHER=true where file events do not arrive, as on some mounts.)
    /// </summary>
    private void WatchSchemaFiles(ValidationOptions options)
    {
        var tokens = new List<IChangeToken>();
        var watchers = new List<PhysicalFileProvider>();
        foreach (var (_, settings) in options.EventTypes)
        {
            if (string.IsNullOrWhiteSpace(settings.Schema))
            {
                continue;
            }

            var path = options.ResolveSchemaPath(settings.Schema);
            var directory = Path.GetDirectoryName(path);
            if (directory is null || !Directory.Exists(directory))
            {
                continue;
            }

            var provider = new PhysicalFileProvider(directory, Microsoft.Extensions.FileProviders.Physical.ExclusionFilters.None);
            watchers.Add(provider);
            tokens.Add(provider.Watch(Path.GetFileName(path)));
        }

        lock (_watchLock)
        {
            _fileSubscription?.Dispose();
            foreach (var old in _watchers)
            {
                old.Dispose();
            }

            _watchers = watchers;
            // One-shot: the reload it triggers watches the (possibly different) files anew.
            _fileSubscription = tokens.Count == 0 ? null
                : new CompositeChangeToken(tokens).RegisterChangeCallback(static state => ((SchemaRegistry)state!).Reload(), this);
        }
    }

    /// <summary>Loads and checks every configured schema; a <see cref="SchemaLoadException"/> names the key and file.</summary>
    internal static EventCatalog Compile(ValidationOptions options)
    {
        var schemas = new Dictionary<string, EventSchema>(options.EventTypes.Count, StringComparer.Ordinal);
        foreach (var (eventType, settings) in options.EventTypes)
        {
            var key = $"{ValidationOptions.SectionName}:EventTypes:{eventType}:Schema";
            var path = options.ResolveSchemaPath(settings.Schema ?? throw new SchemaLoadException($"{key} is required."));
            try
            {
                var schema = SchemaLoader.Load(path, out var fastPath);
                schemas.Add(eventType, new EventSchema(eventType, path, schema, fastPath, new PathString(settings.UpstreamPath)));
            }
            catch (SchemaLoadException ex)
            {
                throw new SchemaLoadException($"{key}: {ex.Message}", ex);
            }
        }

        return new EventCatalog(schemas.ToFrozenDictionary(StringComparer.Ordinal), options.MaxEventBytes);
    }
}
