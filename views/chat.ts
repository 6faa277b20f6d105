import { html, trusted } from './html.js'
import { page } from './layout.js'

/**
 * The chat page's script, kept ES3 for IE5-era browsers. It is the original's, plus what the port
 * fixes: messages that arrive before `onload` (or before contents.html has loaded) wait in `pending`
 * instead of throwing (the original's newcomer in a busy room never received another message), and
 * notices from the server are shown in the chat window.
 */
export const CHAT_SCRIPT = `
  var cDocument;
  var cWindow;
  var pending = [];

  window.onload = chat_init;

  function chat_init(){
    var message = document.getElementById("message");
    if(message && message.form)
      message.form.onsubmit = freshPostFrame;
    findFrames();
    flushMessages();
  }

  //today's browsers add a history entry for each form submitted into a frame, so Back would step
  //through every message sent instead of leaving the chat; a submission into a frame that has not
  //loaded anything yet replaces its blank page instead, so each message gets a fresh frame
  function freshPostFrame(){
    var holder = document.getElementById("postFrame");
    if(holder)
      holder.innerHTML = '<iframe id="post" name="post" style="width: 0px; height: 0px; border: 0px;"></iframe>';
    return true;
  }

  function findFrames(){
    var chatContents = document.getElementById("chatContents");
    if(!chatContents) return;

    //set up a reference to the window object of the IFRAME
    if(window.frames && window.frames["chatContents"]) //IE5, Konq, Safari
      cWindow = window.frames["chatContents"];
    else if(chatContents.contentWindow) //IE5.5+, Moz 1.0+, Opera
      cWindow = chatContents.contentWindow;
    else //Moz < 0.9 (Netscape 6.0)
      cWindow = chatContents;

    //set up a reference to the document object of the IFRAME
    if(cWindow.document) //Moz 0.9+, Konq, Safari, IE, Opera
      cDocument = cWindow.document;
    else //Moz < 0.9 (Netscape 6.0)
      cDocument = cWindow.contentDocument;
  }

  //the div of contents.html, or null while that page is still loading; the frame's document
  //object changes when contents.html replaces the initial blank page, so look again until found
  function contentsDiv(){
    if(!cDocument || !cDocument.getElementById || !cDocument.getElementById("contents"))
      findFrames();
    return cDocument && cDocument.getElementById ? cDocument.getElementById("contents") : null;
  }

  function flushMessages(){
    var contents = contentsDiv();
    var i, newDiv, height;
    if(!contents) return;
    for(i = 0; i < pending.length; i++){
      //place the new messages in a div
      newDiv = cDocument.createElement("DIV");
      if(pending[i].notice){
        newDiv.className = "notice";
        newDiv.appendChild(cDocument.createTextNode(pending[i].notice));
      } else {
        newDiv.innerHTML = pending[i].html;
      }
      //append the messages to the contents
      contents.appendChild(newDiv);
    }
    pending = [];
    //scroll the chatContents area to the bottom
    height = cDocument.body.scrollHeight;
    if(cDocument.documentElement && cDocument.documentElement.scrollHeight > height)
      height = cDocument.documentElement.scrollHeight;
    cWindow.scrollTo(0, height);
  }

  function insertMessages(content){
    pending[pending.length] = { html: content };
    flushMessages();
  }

  function showNotice(text){
    pending[pending.length] = { notice: text };
    flushMessages();
  }

  function resetForm(){
    var message = document.getElementById("message");
    if(!message) return;
    message.value = "";
    message.focus();
  }
`

const STYLE = html`<style type="text/css">
  body { font-family: Verdana, Arial, sans-serif; font-size: small; }
  #chatContents { height: 300px; width: 400px; }
  #message { width: 300px; }
</style>`

export interface ChatView {
  handle: string
  /** The per-session anti-forgery token that post.php checks. */
  token: string
  /** The Logout link (it carries the token too, see routes/login.ts logoutUrl). */
  logoutUrl: string
  /**
   * Whether Logout first removes the thread frame. A poll in flight when the logout ends the session
   * answers "your session has ended", and its frame, still alive until the top window's navigation
   * commits, would send the window to that notice instead of the plain login page. Off restores
   * the 2003 link.
   */
  stopPollingOnLogout: boolean
}

/** Removes the thread frame (its pending poll and timers die with it); ES3, IE5 has removeChild. */
const STOP_POLLING = "var t=document.getElementById('thread');if(t&&t.parentNode)t.parentNode.removeChild(t);"


export function chatPage (view: ChatView): string {
  const head = html`${STYLE}
<script type="text/javascript">//<![CDATA[${trusted(CHAT_SCRIPT)}//]]></script>`
  return page('jenChat', html`<p>You are <strong>${view.handle}</strong>. ${view.stopPollingOnLogout ? html`<a href="${view.logoutUrl}" onclick="${STOP_POLLING}">Logout</a>` : html`<a href="${view.logoutUrl}">Logout</a>`}</p>

<iframe id="chatContents" name="chatContents" src="contents.html"></iframe>

<form target="post" method="post" action="post.php">
<div>
<input type="hidden" name="token" value="${view.token}" />
<input type="text" name="message" id="message" maxlength="255" />
<input type="submit" value="Send" class="submit" />
</div>
</form>

<span id="postFrame"><iframe id="post" name="post" src="post.php"
  style="width: 0px; height: 0px; border: 0px;"></iframe></span>
<iframe id="thread" name="thread" src="thread.php"
  style="width: 0px; height: 0px; border: 0px;"></iframe>`, head)
}
