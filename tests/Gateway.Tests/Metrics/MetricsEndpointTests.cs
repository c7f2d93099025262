using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using OcpTalkdesk.Gateway.Tests.Integration;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Metrics;

public sealed partial class MetricsEndpointTests
{
    [Fact]
    public async Task Metrics_count_each_outcome_with_bounded_labels_only()
    {
        using var host = GatewayHost.Create(new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:talkdesk-events:Timeout"] = "00:00:01",
            ["Gateway:EventTypes:conversation_started:UpstreamPath"] = "/slow",
            // A second Talkdesk route to a cluster nobody listens on.
            ["ReverseProxy:Routes:broken:ClusterId"] = "down",
            ["ReverseProxy:Routes:broken:Match:Path"] = "/talkdesk/broken",
            ["ReverseProxy:Routes:broken:Metadata:TalkdeskActions"] = "true",
            ["ReverseProxy:Routes:broken:AuthorizationPolicy"] = "talkdesk",
            ["ReverseProxy:Clusters:down:Destinations:only:Address"] = $"http://127.0.0.1:{Ports.Closed()}/",
        });
        host.Ocp.Given(Request.Create().WithPath(GatewayHost.OcpPath).UsingPost()).RespondWith(Response.Create().WithStatusCode(202));
        host.Ocp.Given(Request.Create().WithPath(GatewayHost.OcpPath + "/slow").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithDelay(TimeSpan.FromSeconds(4)));
        var client = host.CreateClient();
        // Warm the process (JIT, connection, token) so the first counted event is not cut by the timeout.
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));

        await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("message_created")));
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("message_created_with_attachments")));
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json("{\"event_type\":\"message_created\",\"conversation_id\":\"c-77\"}"));
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json("{\"event_type\":\"someone@example.com\"}"));
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json("not json"));
        var timedOut = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_started")));
        var failed = await client.PostAsync("/talkdesk/broken", Samples.Json(Samples.Bytes("conversation_ended")));
        var refused = await host.CreateAnonymousClient().PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("message_created")));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.GatewayTimeout, timedOut.StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);

        var text = await client.GetStringAsync("/metrics");

        Assert.Equal(2, Sample(text, "ocp_gateway_requests_total", "message_created", "forwarded", "202"));
        Assert.Equal(1, Sample(text, "ocp_gateway_requests_total", "message_created", "rejected_schema", "400"));
        Assert.Equal(2, Sample(text, "ocp_gateway_requests_total", "unknown", "rejected_malformed", "400"));
        Assert.Equal(1, Sample(text, "ocp_gateway_requests_total", "conversation_started", "timeout", "504"));
        // A refused caller is counted once, by the same step as every other call, before its body is read.
        Assert.Equal(1, Sample(text, "ocp_gateway_requests_total", "unknown", "unauthorized", "401"));
        Assert.Equal(1, Value(text, """ocp_gateway_inbound_auth_rejections_total{route="talkdesk-events",reason="missing"}"""));
        Assert.Equal(1, Value(text, """ocp_gateway_requests_total{route="broken",event_type="conversation_ended",outcome="upstream_error",status_code="502"}"""));
        Assert.Equal(1, Value(text, """ocp_gateway_schema_rejections_total{route="talkdesk-events",event_type="message_created",keyword="required"}"""));
        Assert.Equal(2, Value(text, """ocp_gateway_request_duration_seconds_count{route="talkdesk-events",event_type="message_created",outcome="forwarded"}"""));
        Assert.Equal(2, Value(text, """ocp_gateway_upstream_duration_seconds_count{route="talkdesk-events",event_type="message_created",status_code="202"}"""));
        Assert.True(Value(text, """ocp_gateway_token_requests_total{token_client="ocp",result="success"}""") >= 1);
        Assert.InRange(Value(text, """ocp_gateway_token_expiry_seconds{token_client="ocp"}"""), 3000, 3600);
        Assert.Equal(0, Value(text, """ocp_gateway_requests_in_flight{route="talkdesk-events"}"""));
        Assert.Equal(1, Value(text, """ocp_gateway_upstream_duration_seconds_count{route="broken",event_type="conversation_ended",status_code="502"}"""));
        Assert.DoesNotContain("""ocp_gateway_upstream_duration_seconds_count{route="talkdesk-events",event_type="conversation_started""", text, StringComparison.Ordinal);
        Assert.Contains("process_cpu_seconds_total", text, StringComparison.Ordinal);

        // No conversation id, e-mail address, token or raw path ever becomes a label value.
        var labelValues = LabelValue().Matches(text).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.DoesNotContain(labelValues, v => v.Contains("8b2f6c1e", StringComparison.Ordinal) || v.Contains("c-77", StringComparison.Ordinal));
        Assert.DoesNotContain(labelValues, v => v.Contains('@', StringComparison.Ordinal));
        Assert.DoesNotContain(labelValues, v => v.Contains(GatewayHost.FirstToken, StringComparison.Ordinal));
        Assert.DoesNotContain(labelValues, v => v.Contains("/talkdesk", StringComparison.Ordinal) || v.Contains("/ocp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Every_series_the_grafana_dashboard_queries_is_exported()
    {
        using var host = new GatewayHost();
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(202));
        var client = host.CreateClient();
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("message_created")));
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json("{\"event_type\":\"message_created\"}"));
        var dashboard = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "grafana", "ocp-gateway-dashboard.json"));

        var exported = await client.GetStringAsync("/metrics");

        var queried = SeriesName().Matches(dashboard).Select(m => m.Value).ToHashSet();
        Assert.NotEmpty(queried);
        Assert.All(queried, name => Assert.Contains("\n" + name, exported, StringComparison.Ordinal));
    }

    private static double Sample(string text, string name, string eventType, string outcome, string status) =>
        Value(text, $$"""{{name}}{route="talkdesk-events",event_type="{{eventType}}",outcome="{{outcome}}",status_code="{{status}}"}""");

    private static double Value(string text, string series)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }

        Assert.Fail($"no series {series} in /metrics");
        return 0;
    }

    [GeneratedRegex("(ocp_gateway|process)_[a-z_]+")]
    private static partial Regex SeriesName();

    [GeneratedRegex("=\"([^\"]*)\"")]
    private static partial Regex LabelValue();
}
