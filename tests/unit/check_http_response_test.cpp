// check::HttpResponse: status lines, the three ways a body ends, bytes fed in
// any split, and the responses it refuses.
#include "check/http_response.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace lbd::check {
namespace {

using State = HttpResponse::State;

// Fed one byte at a time: no boundary in the input may matter.
State feed_bytewise(HttpResponse& r, std::string_view bytes) {
    State s = r.state();
    for (char c : bytes) s = r.feed(std::string_view(&c, 1));
    return s;
}

TEST(HttpResponse, ContentLengthEndsTheBodyWithoutTheEndOfTheConnection) {
    HttpResponse r;
    EXPECT_EQ(r.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"), State::incomplete);
    EXPECT_EQ(r.feed("lo and what follows"), State::complete);
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.body(), "hello");
}

TEST(HttpResponse, EverySplitOfTheInputGivesTheSameResponse) {
    HttpResponse r;
    EXPECT_EQ(feed_bytewise(r, "HTTP/1.0 404 Not Found\r\ncontent-LENGTH:  3 \r\n\r\nabc"), State::complete);
    EXPECT_EQ(r.status(), 404);
    EXPECT_EQ(r.body(), "abc");
}

TEST(HttpResponse, WithoutLengthTheBodyRunsToTheEndOfTheConnection) {
    HttpResponse r;
    EXPECT_EQ(r.feed("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nfirst "), State::incomplete);
    EXPECT_EQ(r.feed("second"), State::incomplete);
    EXPECT_EQ(r.end(), State::complete);
    EXPECT_EQ(r.body(), "first second");
}

TEST(HttpResponse, ChunkedBodyIsDecodedWithExtensionsAndTrailers) {
    HttpResponse r;
    const std::string wire =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\nContent-Length: 999\r\n\r\n"
        "4;name=value\r\nWiki\r\n"
        "B\r\npedia in \r\n\r\n"
        "0\r\nExpires: never\r\n\r\n";
    EXPECT_EQ(feed_bytewise(r, wire), State::complete);
    EXPECT_EQ(r.body(), "Wikipedia in \r\n");
}

TEST(HttpResponse, BareLineFeedsAreAccepted) {
    HttpResponse r;
    EXPECT_EQ(r.feed("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n"), State::complete);
    EXPECT_EQ(r.body(), "abc");
}

TEST(HttpResponse, StatusesWithoutBodyEndAtTheHeaders) {
    for (const char* head : {"HTTP/1.1 204 No Content\r\n\r\n", "HTTP/1.1 304 Not Modified\r\n\r\n",
                             "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"}) {
        HttpResponse r;
        EXPECT_EQ(r.feed(head), State::complete) << head;
        EXPECT_EQ(r.body(), "");
    }
}

TEST(HttpResponse, StatusLineWithoutReasonPhrase) {
    HttpResponse r;
    EXPECT_EQ(r.feed("HTTP/1.1 503\r\n\r\n"), State::incomplete);
    EXPECT_EQ(r.end(), State::complete);
    EXPECT_EQ(r.status(), 503);
}

TEST(HttpResponse, ABodyCutShortIsTakenAsItArrived) {
    HttpResponse sized;
    sized.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    EXPECT_EQ(sized.end(), State::complete);
    EXPECT_EQ(sized.body(), "abc");

    HttpResponse chunked;
    chunked.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
    EXPECT_EQ(chunked.end(), State::complete);
    EXPECT_EQ(chunked.body(), "ab");
}

TEST(HttpResponse, NothingReceived) {
    HttpResponse r;
    EXPECT_EQ(r.end(), State::failed);
    EXPECT_EQ(r.error(), "no data received");
}

TEST(HttpResponse, ClosedInTheHeaders) {
    HttpResponse r;
    r.feed("HTTP/1.1 200 OK\r\nContent-Le");
    EXPECT_EQ(r.end(), State::failed);
    EXPECT_EQ(r.error(), "connection closed before the end of the headers");
}

TEST(HttpResponse, BadStatusLinesAreRefusedAndQuoted) {
    for (const char* line :
         {"SSH-2.0-OpenSSH_9.2\r\n", "HTTP/1.1 20 OK\r\n", "HTTP/1.1 2000 OK\r\n", "HTTP/1.1\r\n", "ICY 200 OK\r\n"}) {
        HttpResponse r;
        EXPECT_EQ(r.feed(line), State::failed) << line;
        EXPECT_TRUE(r.error().starts_with("bad status line: ")) << r.error();
    }
    HttpResponse binary;
    binary.feed(std::string_view("\x16\x03\x01\x00\n", 5));
    EXPECT_EQ(binary.error(), "bad status line: ????");
}

TEST(HttpResponse, BadFraming) {
    HttpResponse length;
    EXPECT_EQ(length.feed("HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n"), State::failed);
    EXPECT_EQ(length.error(), "bad Content-Length: 12a");

    HttpResponse two;
    EXPECT_EQ(two.feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), State::failed);
    EXPECT_EQ(two.error(), "conflicting Content-Length headers");

    HttpResponse size;
    EXPECT_EQ(size.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), State::failed);
    EXPECT_EQ(size.error(), "bad chunk size: zz");

    HttpResponse overlong;
    EXPECT_EQ(overlong.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n"), State::failed);
    EXPECT_EQ(overlong.error(), "bad chunked body: chunk data longer than its size");
}

TEST(HttpResponse, MoreThanTheLimitFails) {
    HttpResponse r(64);
    const std::string head = "HTTP/1.0 200 OK\r\n\r\n";
    EXPECT_EQ(r.feed(head + std::string(64 - head.size(), 'x')), State::incomplete);
    EXPECT_EQ(r.feed("y"), State::failed);
    EXPECT_EQ(r.error(), "response too large: more than 64 bytes");

    HttpResponse chunk(64);
    EXPECT_EQ(chunk.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n"), State::failed);
    EXPECT_EQ(chunk.error(), "response too large: more than 64 bytes");
}

TEST(HttpResponse, AResponseThatFitsTheLimitExactlyIsComplete) {
    const std::string wire = "HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\nbody";
    HttpResponse r(wire.size());
    EXPECT_EQ(r.feed(wire + "trailing bytes not looked at"), State::complete);
    EXPECT_EQ(r.body(), "body");
}

}  // namespace
}  // namespace lbd::check
