using System.Net;
using CsCheck;
using Microsoft.Extensions.DependencyInjection;
using OcpTalkdesk.Gateway.Tests.Validation;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Integration;

/// <summary>Generated and mutated events through the whole gateway, against what its validator says.</summary>
public sealed class GatewayPropertyTests : IClassFixture<GatewayHost>
{
    private readonly GatewayHost _host;

    public GatewayPropertyTests(GatewayHost host)
    {
        _host = host;
        _host.Ocp.Reset();
        _host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(202));
    }

    [Fact]
    public async Task Forwards_exactly_the_events_its_validator_accepts_unaltered_and_never_answers_5xx()
    {
        var client = _host.CreateClient();
        var forwarded = 0;
        var refused = 0;
        await FastPathValidatorTests.Mutated.SampleAsync(async body =>
        {
            _host.Ocp.ResetLogEntries();
            var valid = ValidatorVerdict(body);

            var response = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(body));

            Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode} for a client's event");
            if (valid)
            {
                forwarded++;
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                Assert.Equal(body, Assert.Single(_host.Ocp.LogEntries).RequestMessage.BodyAsBytes);
            }
            else
            {
                refused++;
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                Assert.Empty(_host.Ocp.LogEntries);
            }
        }, iter: 400, threads: 1);

        Assert.True(forwarded > 20 && refused > 20, $"forwarded {forwarded}, refused {refused}");
    }

    /// <summary>What the gateway's one validator (the same type the HTTP step calls) says of a body.</summary>
    private bool ValidatorVerdict(byte[] body)
    {
        var registry = _host.Services.GetRequiredService<OcpTalkdesk.Gateway.Validation.SchemaRegistry>();
        return OcpTalkdesk.Gateway.Validation.EventValidator.ValidateEvent(body, registry.Current).IsValid;
    }
}
