using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OcpTalkdesk.Gateway.Tests.Integration;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace OcpTalkdesk.Gateway.Tests.Timeouts;

public sealed class GracefulShutdownTests
{
    [Fact]
    public async Task An_event_in_flight_when_shutdown_starts_is_delivered_and_answered()
    {
        using var host = GatewayHost.CreateOnKestrel(new Dictionary<string, string?>());
        host.Ocp.Given(Request.Create().UsingPost())
            .RespondWith(Response.Create().WithStatusCode(202).WithDelay(TimeSpan.FromMilliseconds(1500)));
        using var client = new HttpClient { BaseAddress = host.KestrelAddress };
        client.DefaultRequestHeaders.Add(GatewayHost.ApiKeyHeader, GatewayHost.ApiKey);
        // Warm up, so the event below is in flight at OCP® when the stop arrives.
        await client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("conversation_ended")));
        host.Ocp.ResetLogEntries();

        var inFlight = client.PostAsync(GatewayHost.EventsPath, Samples.Json(Samples.Bytes("message_created")));
        await WaitUntilAsync(() => host.Ocp.LogEntries.Count == 1);
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var options = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HostOptions>>().Value;
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lifetime.ApplicationStopped.Register(() => stopped.TrySetResult());
        lifetime.StopApplication();
        var response = await inFlight;

        // Answered with OCP®'s own answer, not cut off: the shutdown waited for it, then completed.
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(Samples.Bytes("message_created"), Assert.Single(host.Ocp.LogEntries).RequestMessage.BodyAsBytes);
        await stopped.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(TimeSpan.FromSeconds(15), options.ShutdownTimeout);
    }

    /// <summary>Waits for WireMock to log the request (an event, not a fixed sleep), failing after 10 s.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}
