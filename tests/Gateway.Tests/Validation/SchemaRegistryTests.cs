using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Configuration;
using OcpTalkdesk.Gateway.Validation;

namespace OcpTalkdesk.Gateway.Tests.Validation;

public sealed class SchemaRegistryTests
{
    [Fact]
    public void A_bad_reload_keeps_the_last_good_schemas_and_a_good_one_applies()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:EventTypes:conversation_ended:Schema"] = "conversation_ended.schema.json",
        }).Build();
        var options = new GatewayOptions();
        configuration.GetSection("Gateway").Bind(options);
        using var registry = new SchemaRegistry(Options.Create(options), configuration, new GatewayOptionsValidator(), NullLogger<SchemaRegistry>.Instance);
        var before = registry.Current;

        configuration["Gateway:EventTypes:message_created:Schema"] = "does-not-exist.json";
        configuration.Reload();

        Assert.Same(before, registry.Current);
        Assert.Equal(["conversation_ended"], registry.Current.AcceptedEventTypes);

        configuration["Gateway:EventTypes:message_created:Schema"] = "message_created.schema.json";
        configuration.Reload();

        Assert.Equal(["conversation_ended", "message_created"], registry.Current.AcceptedEventTypes);
    }
}
