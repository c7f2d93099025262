using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.Validation;

namespace OcpTalkdesk.Gateway.Tests.Validation;

public sealed class SchemaRegistryTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-reload-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static SchemaRegistry Create(IConfigurationRoot configuration)
    {
        var options = new ValidationOptions();
        configuration.GetSection("Gateway").Bind(options);
        return new SchemaRegistry(Options.Create(options), configuration, new ValidationOptionsValidator(), new GatewayMetrics(), NullLogger<SchemaRegistry>.Instance);
    }

    [Fact]
    public void A_bad_reload_keeps_the_last_good_schemas_and_a_good_one_applies()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:EventTypes:conversation_ended:Schema"] = "conversation_ended.schema.json",
        }).Build();
        using var registry = Create(configuration);
        var before = registry.Current;

        configuration["Gateway:EventTypes:message_created:Schema"] = "does-not-exist.json";
        configuration.Reload();

        Assert.Same(before, registry.Current);
        Assert.Equal(["conversation_ended"], registry.Current.AcceptedEventTypes);
        Assert.Contains("Gateway:EventTypes:message_created:Schema", registry.LastRejection, StringComparison.Ordinal);

        configuration["Gateway:EventTypes:message_created:Schema"] = "message_created.schema.json";
        configuration.Reload();

        Assert.Equal(["conversation_ended", "message_created"], registry.Current.AcceptedEventTypes);
        Assert.Null(registry.LastRejection);
    }

    [Fact]
    public async Task Editing_a_schema_file_takes_effect_and_a_broken_edit_is_refused_keeping_the_last_good()
    {
        var file = Path.Combine(_folder, "agent_joined.schema.json");
        await File.WriteAllTextAsync(file, """{"type":"object","required":["event_type"]}""");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:EventTypes:agent_joined:Schema"] = file,
        }).Build();
        using var registry = Create(configuration);
        var body = """{"event_type":"agent_joined"}"""u8.ToArray();
        Assert.True(EventValidator.ValidateEvent(body, registry.Current).IsValid);

        await EditAndWaitAsync(registry, file, """{"type":"object","required":["event_type","agent"]}""");

        Assert.False(EventValidator.ValidateEvent(body, registry.Current).IsValid);
        Assert.Null(registry.LastRejection);
        var good = registry.Current;

        await EditAndWaitAsync(registry, file, """{"type": 12}""");

        Assert.Same(good, registry.Current);
        Assert.Contains("Gateway:EventTypes:agent_joined:Schema", registry.LastRejection, StringComparison.Ordinal);
        Assert.Contains(file, registry.LastRejection, StringComparison.Ordinal);
        Assert.True(registry.RejectedReloads >= 1);
    }

    /// <summary>Writes the file and waits for the registry's reload event (file events, no sleeping).</summary>
    private static async Task EditAndWaitAsync(SchemaRegistry registry, string file, string text)
    {
        var expected = text;
        var applied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnReloaded()
        {
            // A save can raise several events; wait for the one that saw the whole new text.
            if (File.ReadAllText(file) == expected)
            {
                applied.TrySetResult();
            }
        }

        registry.Reloaded += OnReloaded;
        try
        {
            // Written beside and renamed over, as editors and Kubernetes ConfigMaps do: never half a file.
            var next = file + ".next";
            await File.WriteAllTextAsync(next, text);
            File.Move(next, file, overwrite: true);
            await applied.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            registry.Reloaded -= OnReloaded;
        }
    }
}
