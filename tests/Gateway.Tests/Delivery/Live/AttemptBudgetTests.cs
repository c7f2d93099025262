using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using OcpTalkdesk.Gateway.Tests.Integration;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>The live forward's budget adapts: never past what is left of the execution timeout less the answer margin.</summary>
public sealed partial class AttemptBudgetTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-budget-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [GeneratedRegex(@"attempt budget \((?<seconds>[0-9.]+) s\)")]
    private static partial Regex Budget();

    [Fact]
    public async Task A_hanging_ocp_is_given_up_on_in_time_to_park_and_answer_202_within_the_execution_timeout()
    {
        var settings = StoreAndForwardTests.Settings(_folder);
        // Wide enough for a loaded machine: time left to try OCP® at all after a slow start (the budget shrinks by
        // what the request spent before the forward), and a margin that still parks before the execution timeout.
        settings["Gateway:ExecutionTimeout"] = "00:00:03";
        settings["Gateway:Delivery:AttemptBudget"] = "00:00:02.900";
        settings["Gateway:Delivery:AnswerMargin"] = "00:00:01.500";
        settings["Gateway:Delivery:Breaker:Enabled"] = "false";
        settings["Gateway:Delivery:RetrySchedule:0"] = "00:10:00";
        using var host = GatewayHost.Create(settings);
        host.Ocp.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithDelay(TimeSpan.FromSeconds(4)));
        var client = host.CreateClient();
        // Warms the path before the forward (authentication, validation, the store), which the budget is measured after.
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync(GatewayHost.EventsPath, Samples.Json("{}"))).StatusCode);

        var answer = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("slow", "s-1")));
        var parked = Assert.Single(await StoreAndForwardTests.ListAsync(host, "pending"));
        var reason = parked.GetProperty("lastError").GetString()!;
        var match = Budget().Match(reason);
        Assert.True(match.Success, $"parked for another reason: {reason}");
        var budget = double.Parse(match.Groups["seconds"].Value, CultureInfo.InvariantCulture);

        // Not the configured 2.9 s: at most the 3 s execution timeout less the 1.5 s margin.
        Assert.Equal(HttpStatusCode.Accepted, answer.StatusCode);
        Assert.True(budget <= 1.5, $"the forward was given {budget} s: {reason}");
        Assert.True(budget > 0, reason);
    }
}
