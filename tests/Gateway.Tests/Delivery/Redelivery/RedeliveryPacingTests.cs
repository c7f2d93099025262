using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using OcpTalkdesk.Gateway.Delivery;
using OcpTalkdesk.Gateway.Metrics;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>Pushback is logged as a rate: one line per cluster per interval, with the counts; the metrics count each one.</summary>
public sealed class RedeliveryPacingTests
{
    private readonly FakeTimeProvider _clock = new();
    private readonly FakeLogger<RedeliveryPacing> _logger = new();
    private readonly GatewayMetrics _metrics = new();

    private RedeliveryPacing Pacing() => new(new StaticOptionsMonitor<DeliveryOptions>(new DeliveryOptions()), _metrics, _clock, _logger);

    [Fact]
    public async Task Many_pushbacks_make_one_warning_per_interval_with_their_counts()
    {
        var pacing = Pacing();
        var pace = pacing.For("ocp");
        for (var i = 0; i < 50; i++)
        {
            pacing.LivePushedBack(pace, pace.LiveStarted());
            pace.LiveEnded();
        }

        Assert.True(pace.TryStart(out var ticket));
        pacing.Finished(pace, ticket, PaceSignal.PushedBack, TimeSpan.FromMilliseconds(1));

        _clock.Advance(TimeSpan.FromSeconds(1));
        pacing.Report(_clock.GetUtcNow());
        var early = _logger.Collector.Count;
        _clock.Advance(RedeliveryPacing.ReportEvery);
        pacing.Report(_clock.GetUtcNow());
        _clock.Advance(RedeliveryPacing.ReportEvery);
        pacing.Report(_clock.GetUtcNow());
        using var scrape = new MemoryStream();
        await _metrics.Registry.CollectAndExportAsTextAsync(scrape);
        var text = System.Text.Encoding.UTF8.GetString(scrape.ToArray());

        Assert.Equal(0, early);
        var line = Assert.Single(_logger.Collector.GetSnapshot());
        Assert.Equal(6017, line.Id.Id);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Contains("pushed back 51 time(s)", line.Message, StringComparison.Ordinal);
        Assert.Contains("50 live, 1 redelivery", line.Message, StringComparison.Ordinal);
        Assert.Equal(50, StoreAndForwardTests.Metric(text, "ocp_gateway_delivery_pushbacks_total{cluster=\"ocp\",source=\"live\"}"));
        Assert.Equal(1, StoreAndForwardTests.Metric(text, "ocp_gateway_delivery_pushbacks_total{cluster=\"ocp\",source=\"redelivery\"}"));
    }
}
