using Microsoft.Extensions.Time.Testing;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>The periodic readers' counts: read again once 50 times the last read's duration has passed, at most a minute apart.</summary>
public sealed class QueueCountsTests
{
    private readonly FakeTimeProvider _time = new();
    private TimeSpan _readTakes;
    private int _reads;

    private QueueCounts Counts() => new(_ =>
    {
        // The read "takes" _readTakes on the fake clock, as a count over a large table would.
        _reads++;
        _time.Advance(_readTakes);
        return Task.FromResult<IReadOnlyDictionary<string, long>>(new Dictionary<string, long> { [DeliveryStates.Pending] = _reads });
    }, _time);

    [Fact]
    public async Task A_read_that_took_no_time_is_read_again_every_time()
    {
        var counts = Counts();

        Assert.Equal(1, (await counts.ReadAsync(default))[DeliveryStates.Pending]);
        Assert.Equal(2, (await counts.ReadAsync(default))[DeliveryStates.Pending]);
        Assert.Equal(2, _reads);
    }

    /// <summary>
    /// A read is kept for 50 times its duration from its start (10 ms: 500 ms), and never longer than
    /// <see cref="QueueCounts.MostStale"/> (5 s would be 250 s: a minute).
    /// </summary>
    [Theory]
    [InlineData(10, 500)]
    [InlineData(5_000, 60_000)]
    public async Task A_read_is_kept_for_50_times_its_duration_and_a_minute_at_most(int readTakesMs, int keptForMs)
    {
        Assert.Equal(QueueCounts.MostStale, TimeSpan.FromMinutes(1));
        var counts = Counts();
        _readTakes = TimeSpan.FromMilliseconds(readTakesMs);
        await counts.ReadAsync(default);

        _time.Advance(TimeSpan.FromMilliseconds(keptForMs - readTakesMs - 1));
        Assert.Equal(1, (await counts.ReadAsync(default))[DeliveryStates.Pending]);
        Assert.Equal(1, _reads);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, (await counts.ReadAsync(default))[DeliveryStates.Pending]);
        Assert.Equal(2, _reads);
    }
}
