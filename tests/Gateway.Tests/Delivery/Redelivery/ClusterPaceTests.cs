using Microsoft.Extensions.Time.Testing;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>The paced drain's limit per cluster, on a fake clock: how it grows, backs off, yields to live events and caps the rate.</summary>
public sealed class ClusterPaceTests
{
    private static readonly TimeSpan Quick = TimeSpan.FromMilliseconds(20);
    private readonly FakeTimeProvider _clock = new();

    private ClusterPace Pace(int max = 32, double? rate = null) => new("ocp", max, rate, _clock);

    /// <summary>Takes every slot there is and ends each with <paramref name="signal"/>; returns how many there were.</summary>
    private static int Round(ClusterPace pace, PaceSignal signal, TimeSpan latency)
    {
        var tickets = new List<PaceTicket>();
        while (pace.TryStart(out var ticket))
        {
            tickets.Add(ticket);
        }

        foreach (var ticket in tickets)
        {
            pace.Finished(ticket, signal, latency);
        }

        return tickets.Count;
    }

    [Fact]
    public void It_starts_low_and_doubles_each_round_trip_until_ocp_first_pushes_back()
    {
        var pace = Pace();

        var first = Round(pace, PaceSignal.Took, Quick);
        var second = Round(pace, PaceSignal.Took, Quick);
        var third = Round(pace, PaceSignal.Took, Quick);

        Assert.Equal(ClusterPace.Initial, first);
        Assert.Equal(2 * ClusterPace.Initial, second);
        Assert.Equal(4 * ClusterPace.Initial, third);
    }

    [Fact]
    public void A_burst_of_pushbacks_to_what_was_in_flight_shrinks_the_limit_once_and_a_refusal_after_that_again()
    {
        var pace = Pace();
        Round(pace, PaceSignal.Took, Quick);
        Round(pace, PaceSignal.Took, Quick);
        Assert.Equal(16, pace.Allowed);

        Round(pace, PaceSignal.PushedBack, Quick);
        var afterBurst = pace.Allowed;
        // Refused again at the lowered limit: new news, it goes lower.
        Round(pace, PaceSignal.PushedBack, Quick);

        Assert.Equal(12, afterBurst);
        Assert.Equal(9, pace.Allowed);
    }

    [Fact]
    public void After_a_pushback_it_regrows_to_just_below_where_it_was_refused_and_only_slowly_past_it()
    {
        var pace = Pace();
        Round(pace, PaceSignal.Took, Quick);
        Round(pace, PaceSignal.Took, Quick);
        // Refused with 16 in flight (the last one sent, answered at once): OCP® takes 15, one slot of that kept for live events.
        var tickets = new List<PaceTicket>();
        while (pace.TryStart(out var ticket))
        {
            tickets.Add(ticket);
        }

        pace.Finished(tickets[^1], PaceSignal.PushedBack, TimeSpan.FromMilliseconds(1));
        foreach (var ticket in tickets[..^1])
        {
            pace.Finished(ticket, PaceSignal.Took, Quick);
        }

        for (var i = 0; i < 10; i++)
        {
            Round(pace, PaceSignal.Took, Quick);
        }

        var regrown = pace.Allowed;
        for (var i = 0; i < 20; i++)
        {
            Round(pace, PaceSignal.Took, Quick);
        }

        Assert.Equal(14, regrown);
        Assert.InRange(pace.Allowed, 14, 15);
    }

    [Fact]
    public void Live_forwards_in_flight_take_the_drain_s_room_but_it_always_keeps_one_going()
    {
        var pace = Pace();
        pace.LiveStarted();
        pace.LiveStarted();

        var withLive = pace.Free;
        for (var i = 0; i < 3; i++)
        {
            pace.LiveStarted();
        }

        var saturated = pace.Free;
        Assert.True(pace.TryStart(out _));
        var busy = pace.Free;

        Assert.Equal(ClusterPace.Initial - 2, withLive);
        Assert.Equal(1, saturated);
        Assert.Equal(0, busy);
    }

    [Fact]
    public void A_live_pushback_slows_the_drain_down()
    {
        var pace = Pace();
        Round(pace, PaceSignal.Took, Quick);
        Round(pace, PaceSignal.Took, Quick);

        pace.LivePushedBack(pace.LiveStarted());
        pace.LiveEnded();

        Assert.Equal(12, pace.Allowed);
        Assert.Equal((1, 0), pace.TakePushbacks());
        Assert.Equal((0, 0), pace.TakePushbacks());
    }

    [Fact]
    public void Answers_much_slower_than_usual_back_it_off_until_they_are_the_new_normal()
    {
        var pace = Pace();
        Round(pace, PaceSignal.Took, Quick);
        Round(pace, PaceSignal.Took, Quick);
        var before = pace.Allowed;

        for (var i = 0; i < 5; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            Round(pace, PaceSignal.Took, TimeSpan.FromMilliseconds(200));
        }

        var slowed = pace.Allowed;
        for (var i = 0; i < 25; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            Round(pace, PaceSignal.Took, TimeSpan.FromMilliseconds(200));
        }

        Assert.Equal(16, before);
        Assert.True(slowed < before, $"the limit stayed at {slowed} while answers took ten times as long");
        Assert.True(pace.Allowed > slowed, $"the limit stayed at {pace.Allowed} after 25 s of steady 200 ms answers");
    }

    [Fact]
    public void Failures_shrink_it_and_the_drain_s_own_share_never_passes_the_maximum()
    {
        var capped = Pace(max: 6);
        for (var i = 0; i < 10; i++)
        {
            Round(capped, PaceSignal.Took, Quick);
        }

        var failing = Pace();
        Round(failing, PaceSignal.Took, Quick);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Round(failing, PaceSignal.Failed, Quick);

        Assert.Equal(6, capped.Free);
        Assert.Equal(6, capped.Allowed);
        Assert.Equal(6, failing.Allowed);
    }

    [Fact]
    public void A_rate_cap_refuses_a_slot_once_its_tokens_are_spent_though_the_limit_has_room()
    {
        using var pace = Pace(rate: 1);

        var first = pace.TryStart(out _);
        var second = pace.TryStart(out _);

        Assert.True(first);
        Assert.False(second);
        Assert.True(pace.Free > 0);
    }
}
