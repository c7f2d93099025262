using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using OcpTalkdesk.Gateway.Tests.Delivery;
using OcpTalkdesk.Gateway.Tests.Integration;

namespace OcpTalkdesk.Gateway.Tests.Console;

/// <summary>
/// The operator console over HTTP as a browser uses it (cookies, forms, antiforgery tokens), against the real gateway
/// with a WireMock.Net OCP®: sign-in, sessions, the overview, and dead letters replayed and discarded end to end.
/// </summary>
public sealed partial class ConsoleTests : IDisposable
{
    private const string AdminKey = "console-admin-key-0001";
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-console-").FullName;
    private readonly GatewayHost _host;

    public ConsoleTests()
    {
        var settings = StoreAndForwardTests.Settings(_folder);
        settings["Gateway:Delivery:AdminKeys:alice"] = AdminKey;
        // Parked events stay parked until a test dead-letters them itself (DeadLetterAllAsync): a short MaxAge would
        // dead-letter a replayed event again before it is delivered.
        settings["Gateway:Delivery:RetrySchedule:0"] = "01:00:00";
        _host = GatewayHost.Create(settings, services: s => s.AddLogging(l => l.AddFakeLogging()));
    }

    public void Dispose()
    {
        _host.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"(?<token>[^\"]+)\"")]
    private static partial Regex Token();

    private static async Task<string> TokenFromAsync(HttpClient browser, string page)
    {
        var html = await browser.GetStringAsync(page);
        return Token().Match(html).Groups["token"].Value;
    }

    private static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));

    /// <summary>Dead-letters the head of every held conversation (and so the events behind it), as MaxAge would.</summary>
    private async Task DeadLetterAllAsync()
    {
        var store = (OcpTalkdesk.Gateway.Delivery.IDeliveryStore)_host.Services.GetService(typeof(OcpTalkdesk.Gateway.Delivery.IDeliveryStore))!;
        foreach (var held in await store.HeldConversationsAsync(0, 100, default))
        {
            await store.DeadLetterAsync(held.HeadId, "not delivered within MaxAge (test)", DateTimeOffset.UtcNow, default);
        }
    }

    private async Task<HttpClient> SignedInAsync()
    {
        var browser = _host.CreateBrowserClient();
        var token = await TokenFromAsync(browser, "/console/SignIn");
        var answer = await browser.PostAsync("/console/SignIn", Form(("AdminKey", AdminKey), ("__RequestVerificationToken", token)));
        Assert.Equal(HttpStatusCode.Redirect, answer.StatusCode);
        return browser;
    }

    [Fact]
    public async Task Every_page_without_a_session_leads_to_the_sign_in_form()
    {
        var browser = _host.CreateBrowserClient();

        var overview = await browser.GetAsync("/console/");
        var dead = await browser.GetAsync("/console/DeadLetters");
        var form = await browser.GetStringAsync("/console/SignIn");

        Assert.Equal(HttpStatusCode.Redirect, overview.StatusCode);
        Assert.StartsWith("/console/SignIn", overview.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, dead.StatusCode);
        Assert.Contains("<label for=\"AdminKey\">Admin key</label>", form, StringComparison.Ordinal);
        Assert.Contains(">Sign in</button>", form, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_key_shows_the_form_again_and_makes_no_session()
    {
        var browser = _host.CreateBrowserClient();
        var token = await TokenFromAsync(browser, "/console/SignIn");

        var answer = await browser.PostAsync("/console/SignIn", Form(("AdminKey", "not-the-admin-key-000"), ("__RequestVerificationToken", token)));
        var html = await answer.Content.ReadAsStringAsync();
        var after = await browser.GetAsync("/console/");

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Contains("not one of the configured admin keys", html, StringComparison.Ordinal);
        Assert.DoesNotContain(answer.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [], c => c.StartsWith("ocp-console=", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
    }

    [Fact]
    public async Task The_right_key_signs_in_with_a_strict_http_only_cookie_and_sign_out_ends_the_session()
    {
        var browser = _host.CreateBrowserClient();
        var token = await TokenFromAsync(browser, "/console/SignIn");

        var signIn = await browser.PostAsync("/console/SignIn", Form(("AdminKey", AdminKey), ("__RequestVerificationToken", token)));
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("ocp-console=", StringComparison.Ordinal));
        var overview = await browser.GetStringAsync("/console/");
        var signOutToken = Token().Match(overview).Groups["token"].Value;
        var signOut = await browser.PostAsync("/console/SignIn?handler=SignOut", Form(("__RequestVerificationToken", signOutToken)));
        var after = await browser.GetAsync("/console/");

        Assert.Equal("/console/", signIn.Headers.Location!.OriginalString);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/console", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<h1>Overview</h1>", overview, StringComparison.Ordinal);
        Assert.Contains("alice", overview, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
    }

    [Fact]
    public async Task Dead_letters_are_listed_replayed_in_order_and_discarded_after_a_confirmation()
    {
        StoreAndForwardTests.OcpAnswers(_host, 503);
        var client = _host.CreateClient();
        foreach (var (conversation, message) in new[] { ("D", "d-1"), ("D", "d-2"), ("X", "x-1") })
        {
            Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event(conversation, message)))).StatusCode);
        }

        await DeadLetterAllAsync();
        var dead = await StoreAndForwardTests.ListAsync(_host, "dead");
        var headOfD = dead.First(e => e.GetProperty("conversationId").GetString() == "D").GetProperty("id").GetString();
        var x = dead.Single(e => e.GetProperty("conversationId").GetString() == "X").GetProperty("id").GetString();
        var browser = await SignedInAsync();
        var page = await browser.GetStringAsync("/console/DeadLetters");
        StoreAndForwardTests.OcpAnswers(_host, 200);

        var replay = await browser.PostAsync($"/console/DeadLetters?handler=Replay&id={headOfD}", Form(("__RequestVerificationToken", Token().Match(page).Groups["token"].Value)));
        Assert.True(await Eventually.HoldsAsync(() => StoreAndForwardTests.Delivered(_host).Count == 2), "the replayed conversation was not delivered");
        var confirm = await browser.GetStringAsync($"/console/DeadLetters?confirm={x}");
        var discard = await browser.PostAsync($"/console/DeadLetters?handler=Discard&id={x}", Form(("__RequestVerificationToken", Token().Match(confirm).Groups["token"].Value)));
        var after = await browser.GetStringAsync("/console/DeadLetters");

        Assert.Contains("<td data-label=\"Conversation\">X</td>", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, replay.StatusCode);
        Assert.Equal(["d-1", "d-2"], StoreAndForwardTests.Delivered(_host));
        Assert.Contains($"Discard event {x}?", confirm, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, discard.StatusCode);
        Assert.Contains($"Discarded event {x}.", after, StringComparison.Ordinal);
        Assert.Contains("No dead letters.", after, StringComparison.Ordinal);
        Assert.Empty(await StoreAndForwardTests.ListAsync(_host, "dead"));
    }

    [Fact]
    public async Task Held_conversations_lead_to_their_events_where_skip_lets_the_conversation_go_on_and_retry_now_delivers()
    {
        var settings = StoreAndForwardTests.Settings(_folder, connectionString: $"Data Source={Path.Combine(_folder, "held.db")}");
        settings["Gateway:Delivery:AdminKeys:alice"] = AdminKey;
        settings["Gateway:Delivery:RetrySchedule:0"] = "01:00:00";
        settings["Gateway:Delivery:Breaker:Enabled"] = "false";
        using var host = GatewayHost.Create(settings);
        StoreAndForwardTests.OcpAnswers(host, 503);
        var client = host.CreateClient();
        foreach (var message in new[] { "h-1", "h-2", "h-3" })
        {
            Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("H", message)))).StatusCode);
        }

        var browser = host.CreateBrowserClient();
        var signInToken = await TokenFromAsync(browser, "/console/SignIn");
        Assert.Equal(HttpStatusCode.Redirect, (await browser.PostAsync("/console/SignIn", Form(("AdminKey", AdminKey), ("__RequestVerificationToken", signInToken)))).StatusCode);
        var held = await browser.GetStringAsync("/console/Held");
        var pending = await StoreAndForwardTests.ListAsync(host, "pending");
        var ids = pending.Select(e => e.GetProperty("id").GetString()!).ToList();
        var key = pending[0].GetProperty("idempotencyKey").GetString()!;
        var found = await browser.GetAsync("/console/Search?q=" + key);
        var missing = await browser.GetStringAsync("/console/Search?q=no-such-thing");
        var page = await browser.GetStringAsync("/console/Conversation/H");

        // Skip the head: it is set aside, and the conversation goes on with the next one, which is made due now.
        StoreAndForwardTests.OcpAnswers(host, 200);
        var skip = await browser.PostAsync($"/console/Conversation/H?handler=Skip&event={ids[0]}", Form(("__RequestVerificationToken", Token().Match(page).Groups["token"].Value)));
        var afterSkip = await browser.GetStringAsync("/console/Conversation/H");
        var retry = await browser.PostAsync($"/console/Conversation/H?handler=RetryNow&event={ids[1]}", Form(("__RequestVerificationToken", Token().Match(afterSkip).Groups["token"].Value)));

        Assert.Contains("<a href=\"/console/Conversation/H\">H</a>", held, StringComparison.Ordinal);
        Assert.Contains("<td data-label=\"Events\">3</td>", held, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, found.StatusCode);
        Assert.Equal("/console/Conversation/H", found.Headers.Location!.OriginalString);
        Assert.Contains("Nothing stored matches", missing, StringComparison.Ordinal);
        Assert.Contains(">Retry now</button>", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, skip.StatusCode);
        Assert.Contains("set aside", afterSkip, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, retry.StatusCode);
        Assert.True(await Eventually.HoldsAsync(() => StoreAndForwardTests.Delivered(host).Count == 2), "the rest of the conversation was not delivered");
        Assert.Equal(["h-2", "h-3"], StoreAndForwardTests.Delivered(host));
        var aside = Assert.Single(await StoreAndForwardTests.ListAsync(host, "stale"));
        Assert.Equal("skipped by console:alice", aside.GetProperty("lastError").GetString());
        Assert.Contains("<td data-label=\"State\">stale</td>", await browser.GetStringAsync("/console/DeadLetters"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_conversation_shows_each_event_s_attempts_and_a_body_only_when_asked_with_an_audit_line()
    {
        StoreAndForwardTests.OcpAnswers(_host, 503);
        Assert.Equal(HttpStatusCode.Accepted, (await _host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("A", "a-1")))).StatusCode);
        var id = (await StoreAndForwardTests.ListAsync(_host, "pending"))[0].GetProperty("id").GetString();
        var browser = await SignedInAsync();
        var first = await browser.GetStringAsync("/console/Conversation/A");
        // Retry now: the worker tries again (OCP® still answers 503), so the history has the live try and this one.
        await browser.PostAsync($"/console/Conversation/A?handler=RetryNow&event={id}", Form(("__RequestVerificationToken", Token().Match(first).Groups["token"].Value)));
        Assert.True(await Eventually.HoldsAsync(async () => Regex.Count(await browser.GetStringAsync("/console/Conversation/A"), "<td data-label=\"Outcome\">retry</td>") == 2),
            "the retried attempt did not appear in the history");
        var page = await browser.GetStringAsync("/console/Conversation/A");

        var shown = await browser.PostAsync($"/console/Conversation/A?handler=ShowBody&event={id}", Form(("__RequestVerificationToken", Token().Match(page).Groups["token"].Value)));
        var withBody = await shown.Content.ReadAsStringAsync();

        Assert.Contains($"Attempts of event {id}", page, StringComparison.Ordinal);
        Assert.Equal(2, Regex.Count(page, "<td data-label=\"Outcome\">retry</td>"));
        Assert.Equal(2, Regex.Count(page, "<td data-label=\"HTTP status\">503</td>"));
        Assert.DoesNotContain("text of a-1", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, shown.StatusCode);
        Assert.True(shown.Headers.CacheControl?.NoStore);
        Assert.Contains("text of a-1", withBody, StringComparison.Ordinal);
        var audit = _host.Services.GetRequiredService<FakeLogCollector>().GetSnapshot()
            .Where(r => r.Category == "OcpTalkdesk.Gateway.Delivery.Audit").Select(r => r.Message).ToList();
        Assert.Contains($"Admin show-body event {id} by console:alice: shown", audit);
        Assert.All(_host.Services.GetRequiredService<FakeLogCollector>().GetSnapshot(),
            r => Assert.DoesNotContain("text of a-1", r.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_post_without_the_antiforgery_token_is_refused_400_and_changes_nothing()
    {
        StoreAndForwardTests.OcpAnswers(_host, 503);
        Assert.Equal(HttpStatusCode.Accepted, (await _host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("F", "f-1")))).StatusCode);
        await DeadLetterAllAsync();
        var id = (await StoreAndForwardTests.ListAsync(_host, "dead"))[0].GetProperty("id").GetString();
        var browser = await SignedInAsync();

        var forged = await browser.PostAsync($"/console/DeadLetters?handler=Discard&id={id}", Form());

        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Single(await StoreAndForwardTests.ListAsync(_host, "dead"));
    }

    [Fact]
    public async Task Sign_in_attempts_are_limited_per_client()
    {
        var browser = _host.CreateBrowserClient();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 21; i++)
        {
            statuses.Add((await browser.PostAsync("/console/SignIn", Form(("AdminKey", "guess-" + i)))).StatusCode);
        }

        Assert.DoesNotContain(HttpStatusCode.TooManyRequests, statuses.Take(20));
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[20]);
    }

    [Fact]
    public async Task Without_an_admin_key_there_is_no_console()
    {
        var settings = StoreAndForwardTests.Settings(_folder, connectionString: $"Data Source={Path.Combine(_folder, "other.db")}");
        settings.Remove("Gateway:Delivery:AdminApiKeys:0");
        using var host = GatewayHost.Create(settings);

        var answer = await host.CreateBrowserClient().GetAsync("/console/");

        Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
    }
}
