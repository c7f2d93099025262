using Deque.AxeCore.Playwright;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using OcpTalkdesk.Gateway.Delivery;
using OcpTalkdesk.Gateway.Tests.Delivery;
using OcpTalkdesk.Gateway.Tests.Integration;
using static Microsoft.Playwright.Assertions;

namespace OcpTalkdesk.Gateway.Tests.Console;

/// <summary>
/// The console in a real browser (Debian's Chromium through Playwright) against the real gateway on a socket, with
/// held and dead events from a WireMock.Net OCP®: sign-in (wrong, right, expired), every page checked by axe and
/// photographed at 1280 px and at 400 px, replay and discard, skip, retry now, search, sign-out and antiforgery.
/// Screenshots go to <c>GATEWAY_CONSOLE_SCREENSHOTS</c> (<c>docs/console</c> to refresh the README's) or the test output.
/// </summary>
[Collection(ChromiumGroup.Name)]
public sealed class ConsoleBrowserTests(Chromium chromium) : IDisposable
{
    private const string AdminKey = "browser-admin-key-0001";
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-browser-").FullName;
    private readonly FakeTimeProvider _sessionClock = new(DateTimeOffset.UtcNow);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private GatewayHost Start(string name)
    {
        var settings = StoreAndForwardTests.Settings(_folder, connectionString: $"Data Source={Path.Combine(_folder, name + ".db")}");
        settings["Gateway:Delivery:AdminKeys:alice"] = AdminKey;
        // Parked events wait for the test's own actions (retry now, replay), never for the schedule.
        settings["Gateway:Delivery:RetrySchedule:0"] = "01:00:00";
        settings["Gateway:Delivery:Breaker:Enabled"] = "false";
        // Only the session's clock is the test's: the rest of the gateway runs on real time.
        return GatewayHost.CreateOnKestrel(settings,
            services => services.PostConfigure<CookieAuthenticationOptions>("Console", options => options.TimeProvider = _sessionClock));
    }

    private static async Task SendAsync(GatewayHost host, params (string Conversation, string Message)[] events)
    {
        var client = host.CreateClient();
        foreach (var (conversation, message) in events)
        {
            var answer = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event(conversation, message)));
            Assert.Equal(System.Net.HttpStatusCode.Accepted, answer.StatusCode);
        }
    }

    private static async Task DeadLetterAsync(GatewayHost host, string conversation)
    {
        var store = host.Services.GetRequiredService<IDeliveryStore>();
        var head = (await store.HeldConversationsAsync(0, 100, default)).Single(c => c.ConversationId == conversation).HeadId;
        await store.DeadLetterAsync(head, "not delivered within MaxAge (test)", DateTimeOffset.UtcNow, default);
    }

    private async Task<IPage> OpenAsync(GatewayHost host, int width = 1280)
    {
        var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = host.KestrelAddress.ToString().TrimEnd('/'),
            ViewportSize = new ViewportSize { Width = width, Height = 900 },
        });
        context.SetDefaultTimeout(10_000);
        return await context.NewPageAsync();
    }

    private static async Task SignInAsync(IPage page, string key = AdminKey)
    {
        await page.GetByLabel("Admin key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    /// <summary>axe-core on the page as it stands: no serious or critical violation.</summary>
    private static async Task AccessibleAsync(IPage page)
    {
        var result = await page.RunAxe();
        var grave = result.Violations.Where(v => v.Impact is "serious" or "critical").Select(v => $"{v.Id} ({v.Impact}): {v.Help}").ToList();
        Assert.True(grave.Count == 0, $"{page.Url}: " + string.Join("; ", grave));
    }

    private static async Task ShootAsync(IPage page, string name)
    {
        var folder = Environment.GetEnvironmentVariable("GATEWAY_CONSOLE_SCREENSHOTS") is { Length: > 0 } given
            ? Path.GetFullPath(given, RepositoryRoot())
            : Path.Combine(AppContext.BaseDirectory, "console-screenshots");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        Assert.True(new FileInfo(path).Length > 1000, $"screenshot {path} is empty");
    }

    private static string RepositoryRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "OcpTalkdesk.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? Directory.GetCurrentDirectory();
    }

    private static readonly (string Name, string Path, string Heading)[] Pages =
    [
        ("overview", "/console/", "Overview"),
        ("held", "/console/Held", "Held conversations"),
        ("conversation", "/console/Conversation/H", "Conversation H"),
        ("dead-letters", "/console/DeadLetters", "Dead letters"),
    ];

    [Theory]
    [InlineData(1280)]
    [InlineData(400)]
    public async Task Sign_in_then_every_page_is_accessible_fits_the_width_and_sign_out_ends_the_session(int width)
    {
        using var host = Start("pages-" + width);
        StoreAndForwardTests.OcpAnswers(host, 503);
        await SendAsync(host, ("H", "h-1"), ("H", "h-2"), ("D", "d-1"));
        await DeadLetterAsync(host, "D");
        var page = await OpenAsync(host, width);
        var suffix = width < 600 ? "-narrow" : string.Empty;

        await page.GotoAsync("/console/");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/SignIn"));
        await AccessibleAsync(page);
        await SignInAsync(page, "not-the-key");
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not one of the configured admin keys");
        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == "ocp-console");
        await ShootAsync(page, "sign-in" + suffix);
        await SignInAsync(page);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview", Level = 1 })).ToBeVisibleAsync();
        var session = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == "ocp-console");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);

        foreach (var (name, path, heading) in Pages)
        {
            await page.GotoAsync(path);
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = heading, Level = 1 })).ToBeVisibleAsync();
            await AccessibleAsync(page);
            var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, window.innerWidth]");
            var (scroll, inner) = (widths[0], widths[1]);
            Assert.True(scroll <= inner, $"{path} is {scroll} px wide in a {inner} px window");
            await ShootAsync(page, name + suffix);
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await page.GotoAsync("/console/Held");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/SignIn"));
    }

    [Fact]
    public async Task Dead_letters_are_replayed_in_order_and_discarded_after_confirming_and_a_form_without_its_token_changes_nothing()
    {
        using var host = Start("dead");
        StoreAndForwardTests.OcpAnswers(host, 503);
        await SendAsync(host, ("D", "d-1"), ("D", "d-2"), ("X", "x-1"));
        await DeadLetterAsync(host, "D");
        await DeadLetterAsync(host, "X");
        var x = (await host.Services.GetRequiredService<IDeliveryStore>().ConversationAsync("X", default)).Single().Id;
        var page = await OpenAsync(host);
        await page.GotoAsync("/console/DeadLetters");
        await SignInAsync(page);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Dead letters" })).ToBeVisibleAsync();

        // A form whose antiforgery token was taken out: 400, and the dead letter stays.
        await page.EvaluateAsync($"() => document.querySelector('button[aria-label=\"Replay event {x}\"]').form.querySelector('input[name=__RequestVerificationToken]').remove()");
        var forged = await page.RunAndWaitForResponseAsync(
            () => page.GetByRole(AriaRole.Button, new() { Name = $"Replay event {x}" }).ClickAsync(), r => r.Request.Method == "POST");
        Assert.Equal(400, forged.Status);
        Assert.Equal(2, (await host.Services.GetRequiredService<IDeliveryStore>().ListAsync(DeliveryStates.Dead, 10, default)).Count(e => e.ConversationId == "D"));

        StoreAndForwardTests.OcpAnswers(host, 200);
        await page.GotoAsync("/console/DeadLetters");
        await page.GetByRole(AriaRole.Button, new() { Name = "Replay conversation D" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Replayed 2 event(s) of conversation D");
        Assert.True(await Eventually.HoldsAsync(() => StoreAndForwardTests.Delivered(host).Count == 2), "the replayed conversation was not delivered");
        Assert.Equal(["d-1", "d-2"], StoreAndForwardTests.Delivered(host));

        await page.GetByRole(AriaRole.Button, new() { Name = $"Discard event {x}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Discard event {x}?" })).ToBeVisibleAsync();
        await AccessibleAsync(page);
        await ShootAsync(page, "discard-confirm");
        await page.GetByRole(AriaRole.Button, new() { Name = "Discard", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync($"Discarded event {x}.");
        await Expect(page.GetByText("No dead letters.")).ToBeVisibleAsync();
        Assert.Equal(["d-1", "d-2"], StoreAndForwardTests.Delivered(host));
    }

    [Fact]
    public async Task Search_by_key_opens_the_conversation_where_skip_and_retry_now_let_it_go_on_and_its_history_and_body_show()
    {
        using var host = Start("held");
        StoreAndForwardTests.OcpAnswers(host, 503);
        await SendAsync(host, ("H", "h-1"), ("H", "h-2"), ("H", "h-3"));
        var events = await host.Services.GetRequiredService<IDeliveryStore>().ConversationAsync("H", default);
        var page = await OpenAsync(host);
        await page.GotoAsync("/console/");
        await SignInAsync(page);

        // Keyboard only: the search box, then Enter.
        await page.GetByRole(AriaRole.Searchbox, new() { Name = "Search" }).FillAsync(events[0].IdempotencyKey);
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Conversation H", Level = 1 })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Table, new() { Name = $"Attempts of event {events[0].Id}" })).ToContainTextAsync("OCP® answered 503");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Show body of event {events[0].Id}" }).ClickAsync();
        await Expect(page.GetByLabel($"Body of event {events[0].Id}")).ToContainTextAsync("text of h-1");
        await AccessibleAsync(page);
        await ShootAsync(page, "conversation-body");

        // Retry now (OCP® still failing): tried again at once instead of in an hour, and the history shows it.
        await page.GetByRole(AriaRole.Button, new() { Name = $"Retry now, event {events[0].Id}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("is due now");
        var attempts = page.GetByRole(AriaRole.Table, new() { Name = $"Attempts of event {events[0].Id}" }).Locator("tbody tr");
        Assert.True(await Eventually.HoldsAsync(async () =>
        {
            await page.ReloadAsync();
            return await attempts.CountAsync() == 2;
        }), "the retried attempt did not appear in the history");

        // Skip the head (OCP® back): set aside, and the rest of the conversation goes on.
        StoreAndForwardTests.OcpAnswers(host, 200);
        await page.GetByRole(AriaRole.Button, new() { Name = $"Skip event {events[0].Id}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("set aside");

        Assert.True(await Eventually.HoldsAsync(() => StoreAndForwardTests.Delivered(host).Count == 2), "the rest of the conversation was not delivered");
        Assert.Equal(["h-2", "h-3"], StoreAndForwardTests.Delivered(host));
        await page.GotoAsync("/console/DeadLetters");
        await Expect(page.GetByRole(AriaRole.Table, new() { Name = "Dead, then set aside (stale); oldest first, at most 100 of each" }))
            .ToContainTextAsync("skipped by console:alice");
    }

    [Fact]
    public async Task A_session_slides_while_used_and_expires_after_30_idle_minutes()
    {
        using var host = Start("session");
        var page = await OpenAsync(host);
        await page.GotoAsync("/console/");
        await SignInAsync(page);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview", Level = 1 })).ToBeVisibleAsync();

        // Used after 20 minutes: renewed, so 20 more are still within the window.
        _sessionClock.Advance(TimeSpan.FromMinutes(20));
        await page.GotoAsync("/console/Held");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Held conversations", Level = 1 })).ToBeVisibleAsync();
        _sessionClock.Advance(TimeSpan.FromMinutes(20));
        await page.GotoAsync("/console/Held");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Held conversations", Level = 1 })).ToBeVisibleAsync();

        _sessionClock.Advance(TimeSpan.FromMinutes(31));
        await page.GotoAsync("/console/Held");

        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/console/SignIn"));
        await Expect(page.GetByLabel("Admin key")).ToBeVisibleAsync();
    }
}
