using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using NJsonSchema;
using OcpTalkdesk.Gateway.Configuration;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// Compiles the configured schemas once at start-up and again whenever the configuration reloads.
/// A bad reload (invalid options, a missing or broken schema file) is logged and the last good
/// catalog stays in force. It listens to the configuration itself rather than to
/// <see cref="IOptionsMonitor{TOptions}"/>, because the monitor throws on an invalid reload and never
/// tells its listeners why.
/// </summary>
internal sealed class SchemaRegistry : IDisposable
{
    private readonly IConfiguration _configuration;
    private readonly IValidateOptions<GatewayOptions> _validator;
    private readonly ILogger<SchemaRegistry> _logger;
    private readonly IDisposable _reloadSubscription;
    private volatile EventCatalog _current;

    public SchemaRegistry(IOptions<GatewayOptions> options, IConfiguration configuration,
        IValidateOptions<GatewayOptions> validator, ILogger<SchemaRegistry> logger)
    {
        _configuration = configuration;
        _validator = validator;
        _logger = logger;
        // At start-up a broken schema throws: the process must not serve without its checks.
        _current = Compile(options.Value);
        ValidationLog.SchemasLoaded(_logger, _current.AcceptedEventTypes.Count);
        _reloadSubscription = ChangeToken.OnChange(configuration.GetReloadToken, Reload);
    }

    /// <summary>The catalog in force.</summary>
    public EventCatalog Current => _current;

    public void Dispose() => _reloadSubscription.Dispose();

    internal void Reload()
    {
        try
        {
            var options = new GatewayOptions();
            _configuration.GetSection(GatewayOptions.SectionName).Bind(options);
            var result = _validator.Validate(Options.DefaultName, options);
            if (result.Failed)
            {
                ValidationLog.ReloadRejected(_logger, result.FailureMessage);
                return;
            }

            _current = Compile(options);
            ValidationLog.SchemasLoaded(_logger, _current.AcceptedEventTypes.Count);
        }
        catch (InvalidOperationException ex)
        {
            ValidationLog.ReloadRejected(_logger, ex.Message);
        }
    }

    internal static EventCatalog Compile(GatewayOptions options)
    {
        var schemas = new Dictionary<string, EventSchema>(options.EventTypes.Count, StringComparer.Ordinal);
        foreach (var (eventType, settings) in options.EventTypes)
        {
            var key = $"{GatewayOptions.SectionName}:EventTypes:{eventType}:Schema";
            var path = options.ResolveSchemaPath(settings.Schema ?? throw new InvalidOperationException($"{key} is required."));
            JsonSchema schema;
            SchemaNode? compiled;
            try
            {
                // Loading a local file with no external $ref completes synchronously; this runs at
                // start-up or on a reload thread, never on a request.
                var text = File.ReadAllText(path);
                schema = JsonSchema.FromJsonAsync(text, path).GetAwaiter().GetResult();
                using var document = System.Text.Json.JsonDocument.Parse(text);
                compiled = SchemaNode.TryCompile(document.RootElement);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Newtonsoft.Json.JsonException
                or System.Text.Json.JsonException or InvalidOperationException or NotSupportedException)
            {
                throw new InvalidOperationException($"{key}: cannot load the schema file '{path}': {ex.Message}", ex);
            }

            schemas.Add(eventType, new EventSchema(eventType, path, schema, compiled, new PathString(settings.UpstreamPath)));
        }

        return new EventCatalog(schemas.ToFrozenDictionary(StringComparer.Ordinal), options.MaxEventBytes);
    }
}
