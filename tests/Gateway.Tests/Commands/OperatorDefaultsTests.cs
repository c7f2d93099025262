using System.Net;
using System.Text;
using System.Text.Json;
using OcpTalkdesk.Gateway.Tests.Integration;

namespace OcpTalkdesk.Gateway.Tests.Commands;

/// <summary>What a new operator meets in the first hour, on the real binary.</summary>
public sealed class OperatorDefaultsTests
{
    private static StringContent Event() => new(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "samples", "message_created.json")), Encoding.UTF8, "application/json");

    [Fact]
    public async Task Metrics_and_health_answer_only_on_the_management_port_by_default()
    {
        await using var gateway = await RunningGateway.StartAsync(GatewayProcess.Complete());
        using var client = new HttpClient();

        foreach (var path in new[] { "/metrics", "/healthz", "/readyz" })
        {
            var onEvents = await client.GetAsync(new Uri($"http://127.0.0.1:{gateway.EventPort}{path}"));
            var onManagement = await client.GetAsync(new Uri($"http://127.0.0.1:{gateway.ManagementPort}{path}"));

            Assert.Equal(HttpStatusCode.NotFound, onEvents.StatusCode);
            Assert.NotEqual(HttpStatusCode.NotFound, onManagement.StatusCode);
        }
    }

    [Fact]
    public async Task The_sandbox_follows_the_address_given_with_urls_and_starts_without_a_token_warning()
    {
        var environment = new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Development" };
        await using var gateway = await RunningGateway.StartAsync(environment);
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Add("X-API-Key", "sandbox-key-not-a-secret");

        var response = await client.PostAsync(new Uri($"http://127.0.0.1:{gateway.EventPort}/talkdesk/events"), Event());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"authorization\":\"Bearer sandbox-", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain("could not obtain a token", gateway.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upstream_failure_is_one_log_line_with_the_cause_and_the_trace_id_talkdesk_got()
    {
        using var tokens = WireMock.Server.WireMockServer.Start();
        tokens.Given(WireMock.RequestBuilders.Request.Create().UsingPost()).RespondWith(WireMock.ResponseBuilders.Response.Create()
            .WithHeader("Content-Type", "application/json").WithBody("""{"access_token":"t-1","token_type":"Bearer","expires_in":3600}"""));
        var environment = GatewayProcess.Complete();
        environment["ReverseProxy__Clusters__ocp__Destinations__primary__Address"] = $"http://127.0.0.1:{Ports.Closed()}/ocp";
        environment["Gateway__TokenClients__ocp__TokenEndpoint"] = tokens.Url + "/token";
        await using var gateway = await RunningGateway.StartAsync(environment);
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Add("X-API-Key", environment["Gateway__InboundAuth__talkdesk__ApiKeys__0"]);

        var response = await client.PostAsync(new Uri($"http://127.0.0.1:{gateway.EventPort}/talkdesk/events"), Event());

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var traceId = problem.RootElement.GetProperty("traceId").GetString()!;
        // The log line is written before the answer; the process's pipe may still be delivering it.
        var logged = await EventuallyAsync(() => gateway.Output.Contains("Forwarding on route talkdesk-events failed", StringComparison.Ordinal));
        Assert.True(logged, gateway.Output);
        var output = gateway.Output;
        Assert.Contains(traceId, output, StringComparison.Ordinal);
        Assert.Contains("refused", output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_environment_wins_over_a_file_in_the_secrets_directory()
    {
        var secrets = Directory.CreateTempSubdirectory("gateway-secret-order-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(secrets, "Gateway__TokenClients__ocp__ClientId"), "from-the-secrets-file");
            var environment = GatewayProcess.Complete();
            environment["SecretsDirectory"] = secrets;
            environment["Gateway__TokenClients__ocp__ClientId"] = "";

            // The environment's empty value wins: the client id is missing.
            var fromEnvironment = await GatewayProcess.RunAsync(["check-config"], environment);
            environment.Remove("Gateway__TokenClients__ocp__ClientId");
            var fromFile = await GatewayProcess.RunAsync(["check-config"], environment);

            Assert.Equal(1, fromEnvironment.ExitCode);
            Assert.Contains("Gateway:TokenClients:ocp:ClientId", fromEnvironment.Error, StringComparison.Ordinal);
            Assert.Equal(0, fromFile.ExitCode);
        }
        finally
        {
            Directory.Delete(secrets, recursive: true);
        }
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Yield();
            using var pause = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
            await Task.Delay(Timeout.Infinite, pause.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        return condition();
    }
}
